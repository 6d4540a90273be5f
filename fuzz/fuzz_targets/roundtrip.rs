//! Structured round trip: arbitrary data through `Encoder`/`Decoder` with arbitrary
//! level, block size, checksum, threads and write/read chunk sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssmix_fuzz::{RoundtripInput, check_roundtrip};

fuzz_target!(|input: RoundtripInput| check_roundtrip(&input));
