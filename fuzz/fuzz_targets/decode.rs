//! Hostile input to the decoder (raw, behind a valid header, or as patches to a valid
//! frame) under a memory limit: it must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ssmix_fuzz::check_decode(data));
