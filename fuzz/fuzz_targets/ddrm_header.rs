//! The `.ddrm` header and its segment table, as `Header::decode` reads them from a file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use packager_format::Header;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::decode(data) {
        // What decodes encodes, and decodes back to itself: the content id hashes the encoding.
        let again = header.encode().expect("a decoded header encodes");
        let back = Header::decode(&again).expect("an encoded header decodes");
        assert_eq!(
            back.encode().expect("encodes"),
            again,
            "the encoding is canonical"
        );
    }
});
