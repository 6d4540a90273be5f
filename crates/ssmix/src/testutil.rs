//! Helpers shared by the unit tests.

/// One step of SplitMix64 (Steele, Lea, Flood 2014): the fixed pseudo-random source of
/// the unit tests and their golden values. Checked against the reference outputs in
/// `kernels::tests::splitmix64_reference_values`.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
