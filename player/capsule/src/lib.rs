//! The player capsule: compiled to WASM, it holds the content key and decodes inside its sandbox.
