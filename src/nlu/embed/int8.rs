//! A BERT encoder whose linear layers compute in 8-bit integers (`Precision::Int8`).
//!
//! rust-bert's `BertModel` multiplies in f32 through `nn::Linear`, which cannot be swapped for
//! another kernel; this is the same forward pass (embeddings, then per layer self-attention
//! and feed-forward, each with its residual and LayerNorm), written over the same loaded
//! weights. Five of each layer's six matrix products run in int8 through fbgemm: each weight
//! quantized once, symmetrically per tensor, and each input quantized per product by fbgemm
//! itself over its own range (dynamic quantization, as PyTorch's `quantize_dynamic` does for
//! `nn.Linear`). The sixth, the feed-forward output, reads the GELU's output, whose few large
//! values leave an 8-bit range too coarse for the rest: in int8 it cost the multilingual
//! model two points of wrong replies (leave-one-shop-out), so it runs on 16-bit weights
//! ([`Wide`]). Attention scores, softmax, GELU, LayerNorm and pooling stay f32.
//!
//! A message's pass is about twice as fast as f32's on the 2-core reference machine, and its
//! vector moves a little (cosine about 0.998 to f32's): docs/semantic-models.md.
//!
//! [`Arithmetic::F32`] gives the f32 forward pass, which the tests compare with rust-bert's
//! own to pin that the two are the same computation.

use tch::{nn, Device, Kind, Scalar, Tensor};

/// rust-bert's BERT LayerNorms (it does not read `layer_norm_eps` from config.json).
const EPS: f64 = 1e-12;

/// How the encoder's linear layers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arithmetic {
    /// As rust-bert does (tests only: the embedder runs rust-bert's own BERT in f32).
    #[cfg_attr(not(test), allow(dead_code))]
    F32,
    /// int8, the feed-forward output in `Wide`.
    Int8(Wide),
}

/// The 16-bit format of the feed-forward output's weights in int8 arithmetic. Both measured
/// the same on the five fitting shops; bf16 is the faster where the CPU has bf16
/// instructions, fp16 (converted to f32 inside fbgemm's kernel) everywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wide {
    Bf16,
    Fp16,
}

impl Wide {
    /// bf16 when the CPU computes it natively (AVX512-BF16), else fp16.
    pub(crate) fn native() -> Wide {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512bf16") {
            return Wide::Bf16;
        }
        Wide::Fp16
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Wide::Bf16 => "bf16",
            Wide::Fp16 => "fp16",
        }
    }
}

/// One linear layer: `x · Wᵀ + b`.
struct Linear {
    weight: Weight,
    bias: Tensor,
}

enum Weight {
    F32(Tensor),
    Int8(Int8Weight),
    /// fbgemm's packed fp16 matrix.
    Fp16(Tensor),
    /// The weight and the bias in bf16.
    Bf16(Tensor, Tensor),
}

/// A weight quantized for fbgemm: `w ≈ scale · q` (zero point 0), packed once.
struct Int8Weight {
    q: Tensor,
    packed: Tensor,
    /// Per output row, the sum of its quantized weights (fbgemm's `col_offsets`).
    col_offsets: Tensor,
    scale: f64,
}

/// Which of a layer's products a linear layer is.
#[derive(PartialEq)]
enum Role {
    /// Query, key, value, attention output, feed-forward input.
    Narrow,
    FeedForwardOutput,
}

impl Linear {
    fn new(
        weights: &nn::VarStore,
        name: &str,
        role: Role,
        arithmetic: Arithmetic,
    ) -> Result<Linear, String> {
        let f32_weight = variable(weights, &format!("{name}.weight"))?;
        let bias = variable(weights, &format!("{name}.bias"))?;
        let packing = |e: tch::TchError| {
            format!("{name}: libtorch cannot pack the weight (fbgemm needs an x86-64 CPU with AVX2): {e}")
        };
        let weight = match (arithmetic, role) {
            (Arithmetic::F32, _) => {
                return Ok(Linear {
                    weight: Weight::F32(f32_weight),
                    bias,
                })
            }
            (Arithmetic::Int8(_), Role::Narrow) => {
                Weight::Int8(Int8Weight::new(&f32_weight).map_err(packing)?)
            }
            (Arithmetic::Int8(Wide::Fp16), Role::FeedForwardOutput) => Weight::Fp16(
                f32_weight
                    .contiguous()
                    .f_fbgemm_pack_gemm_matrix_fp16()
                    .map_err(packing)?,
            ),
            (Arithmetic::Int8(Wide::Bf16), Role::FeedForwardOutput) => Weight::Bf16(
                f32_weight.to_kind(Kind::BFloat16).contiguous(),
                bias.to_kind(Kind::BFloat16),
            ),
        };
        // The f32 weight is not needed any more: the variable (shared with the VarStore and
        // whatever else holds it) is emptied, and its memory freed.
        let mut shared = f32_weight;
        shared.set_data(&Tensor::empty([0], (Kind::Float, Device::Cpu)));
        Ok(Linear { weight, bias })
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        match &self.weight {
            Weight::F32(w) => x.linear(w, Some(&self.bias)),
            Weight::Int8(w) => x.fbgemm_linear_int8_weight_fp32_activation(
                &w.q,
                &w.packed,
                &w.col_offsets,
                Scalar::float(w.scale),
                Scalar::int(0),
                &self.bias,
            ),
            Weight::Fp16(w) => x.fbgemm_linear_fp16_weight_fp32_activation(w, &self.bias),
            Weight::Bf16(w, b) => x
                .to_kind(Kind::BFloat16)
                .linear(w, Some(b))
                .to_kind(Kind::Float),
        }
    }
}

impl Int8Weight {
    fn new(weight: &Tensor) -> Result<Int8Weight, tch::TchError> {
        let weight = weight.contiguous();
        let largest = f64::try_from(weight.abs().max())?;
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        let q = (&weight / scale)
            .round()
            .clamp(-127, 127)
            .to_kind(Kind::Int8)
            .contiguous();
        let col_offsets = q.sum_dim_intlist([1i64].as_slice(), false, Kind::Int);
        let packed = q.f_fbgemm_pack_quantized_matrix()?;
        Ok(Int8Weight {
            q,
            packed,
            col_offsets,
            scale,
        })
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    fn new(weights: &nn::VarStore, name: &str) -> Result<LayerNorm, String> {
        Ok(LayerNorm {
            weight: variable(weights, &format!("{name}.weight"))?,
            bias: variable(weights, &format!("{name}.bias"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let hidden = *x.size().last().expect("a hidden dimension");
        x.layer_norm([hidden], Some(&self.weight), Some(&self.bias), EPS, false)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The encoder, built over the weights rust-bert loaded (its variable names).
pub(crate) struct Encoder {
    position: Tensor,
    token_type: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: i64,
}

impl Encoder {
    /// The encoder of `layers` layers and `heads` attention heads over `weights` (a BERT as
    /// rust-bert names its variables). Outside `Arithmetic::F32` its linear layers hold
    /// their weights in their own formats and empty the f32 variables. An error names the
    /// variable that is missing, or the weight libtorch could not pack.
    pub(crate) fn new(
        weights: &nn::VarStore,
        layers: i64,
        heads: i64,
        arithmetic: Arithmetic,
    ) -> Result<Encoder, String> {
        tch::no_grad(|| {
            let linear = |name: String, role| Linear::new(weights, &name, role, arithmetic);
            let layers = (0..layers)
                .map(|i| {
                    let p = format!("encoder.layer.{i}");
                    Ok(Layer {
                        query: linear(format!("{p}.attention.self.query"), Role::Narrow)?,
                        key: linear(format!("{p}.attention.self.key"), Role::Narrow)?,
                        value: linear(format!("{p}.attention.self.value"), Role::Narrow)?,
                        attention_out: linear(format!("{p}.attention.output.dense"), Role::Narrow)?,
                        attention_norm: LayerNorm::new(
                            weights,
                            &format!("{p}.attention.output.LayerNorm"),
                        )?,
                        intermediate: linear(format!("{p}.intermediate.dense"), Role::Narrow)?,
                        output: linear(format!("{p}.output.dense"), Role::FeedForwardOutput)?,
                        output_norm: LayerNorm::new(weights, &format!("{p}.output.LayerNorm"))?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Encoder {
                position: variable(weights, "embeddings.position_embeddings.weight")?,
                token_type: variable(weights, "embeddings.token_type_embeddings.weight")?,
                embeddings_norm: LayerNorm::new(weights, "embeddings.LayerNorm")?,
                layers,
                heads,
            })
        })
    }

    /// The last hidden state `[batch, length, hidden]` of word embeddings `words`
    /// (`[batch, length, hidden]`) under attention `mask` (`[batch, length]`, 1 for a piece,
    /// 0 for padding): positions from 0 and token type 0, as rust-bert's `BertModel` gives.
    pub(crate) fn forward(&self, words: &Tensor, mask: &Tensor) -> Tensor {
        let size = words.size();
        let (batch, length, hidden) = (size[0], size[1], size[2]);
        let head = hidden / self.heads;
        let positions = self.position.narrow(0, 0, length).unsqueeze(0);
        let token_type = self.token_type.get(0);
        let mut x = self
            .embeddings_norm
            .forward(&(words + positions + token_type));
        // 0 where a piece is, -10000 where padding is: rust-bert's extended mask.
        let padding = (mask.ones_like() - mask)
            .to_kind(Kind::Float)
            .view([batch, 1, 1, length])
            * -10000.0;
        let heads = |t: Tensor| t.view([batch, length, self.heads, head]).transpose(1, 2);
        for layer in &self.layers {
            let query = heads(layer.query.forward(&x)) / (head as f64).sqrt();
            let key = heads(layer.key.forward(&x));
            let value = heads(layer.value.forward(&x));
            let scores = query.matmul(&key.transpose(-1, -2)) + &padding;
            let context = scores
                .softmax(-1, Kind::Float)
                .matmul(&value)
                .transpose(1, 2)
                .contiguous()
                .view([batch, length, hidden]);
            let attended = layer
                .attention_norm
                .forward(&(layer.attention_out.forward(&context) + &x));
            let inner = layer.intermediate.forward(&attended).gelu("none");
            x = layer
                .output_norm
                .forward(&(layer.output.forward(&inner) + &attended));
        }
        x
    }
}

fn variable(weights: &nn::VarStore, name: &str) -> Result<Tensor, String> {
    weights
        .variables()
        .remove(name)
        .ok_or_else(|| format!("model.safetensors: the BERT has no {name}"))
}
