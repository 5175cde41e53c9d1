#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h5_fuzz::messages(data));
