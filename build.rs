//! Lets the `semantic` binaries find libtorch at run time without LD_LIBRARY_PATH: torch-sys
//! tells where it linked libtorch (`DEP_TCH_LIBTORCH_LIB`) and we record that folder as the
//! binaries' rpath. The lexical build has no torch-sys, so nothing is done.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        // The resolved folder (in the cache), not models/libtorch: the binary keeps working
        // when it is run from another folder or the checkout is gone.
        let lib = std::fs::canonicalize(&lib).unwrap_or_else(|_| lib.into());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
