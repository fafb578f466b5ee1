//! A BERT encoder's forward pass on the CPU, as all-MiniLM-L6-v2 needs it (post-norm layers,
//! GELU, absolute positions, one token type), with the texts of a batch **packed**: every
//! token-wise step (the linear layers, GELU, the norms) runs over the batch's real tokens laid
//! end to end, and attention runs per text and head over that text's tokens alone, so no work
//! is spent on padding and no mask is needed. The weights are read once from the model's
//! safetensors file; query, key and value are fused into one product.

use super::kernels::{self, View};
use gemm::Parallelism;
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

/// What the forward pass needs from the model's `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Config {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    pub max_position_embeddings: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

struct Linear {
    /// `out × in`, as stored.
    w: Vec<f32>,
    b: Vec<f32>,
    inp: usize,
}

struct Norm {
    w: Vec<f32>,
    b: Vec<f32>,
}

struct Layer {
    /// Query, key and value weights stacked (`3·hidden × hidden`).
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// The loaded encoder.
pub(super) struct Bert {
    cfg: Config,
    word: Vec<f32>,
    position: Vec<f32>,
    /// The first token type's embedding (every token's: one segment).
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    vocab: usize,
}

/// Products with fewer rows than this run on the calling thread alone.
const PARALLEL_ROWS: usize = 64;

impl Bert {
    /// Build the encoder from the safetensors bytes; an error says what is missing or wrong.
    pub(super) fn load(cfg: Config, bytes: &[u8]) -> Result<Self, String> {
        if cfg.hidden_act != "gelu" {
            return Err(format!("activation {:?} is not supported", cfg.hidden_act));
        }
        if cfg.num_attention_heads == 0 || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
        {
            return Err("hidden size is not a multiple of the heads".into());
        }
        let st = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        // sentence-transformers saves BertModel's names; a BertForX checkpoint prefixes them.
        let prefix = if st.names().iter().any(|n| n.starts_with("bert.")) {
            "bert."
        } else {
            ""
        };
        let h = cfg.hidden_size;
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
            let full = format!("{prefix}{name}");
            let t = st.tensor(&full).map_err(|e| format!("{full}: {e}"))?;
            if t.dtype() != Dtype::F32 {
                return Err(format!("{full}: {:?}, not F32", t.dtype()));
            }
            if t.shape() != shape {
                return Err(format!("{full}: shape {:?}, not {shape:?}", t.shape()));
            }
            // One copy of the little-endian bytes (the file's layout), then the byte order
            // fixed where the machine's differs.
            let mut v = vec![0.0f32; t.data().len() / 4];
            bytemuck::cast_slice_mut::<f32, u8>(&mut v).copy_from_slice(t.data());
            if cfg!(target_endian = "big") {
                v.iter_mut()
                    .for_each(|x| *x = f32::from_bits(u32::from_le(x.to_bits())));
            }
            Ok(v)
        };
        // The first dimension of a tensor whose row count the file decides.
        let rows_of = |name: &str| -> Result<usize, String> {
            let full = format!("{prefix}{name}");
            let t = st.tensor(&full).map_err(|e| format!("{full}: {e}"))?;
            Ok(t.shape().first().copied().unwrap_or(0))
        };
        let vocab = rows_of("embeddings.word_embeddings.weight")?;
        let linear = |name: &str, out: usize, inp: usize| -> Result<Linear, String> {
            Ok(Linear {
                w: get(&format!("{name}.weight"), &[out, inp])?,
                b: get(&format!("{name}.bias"), &[out])?,
                inp,
            })
        };
        let norm = |name: &str| -> Result<Norm, String> {
            Ok(Norm {
                w: get(&format!("{name}.weight"), &[h])?,
                b: get(&format!("{name}.bias"), &[h])?,
            })
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let (q, k, v) = (
                linear(&format!("{p}.attention.self.query"), h, h)?,
                linear(&format!("{p}.attention.self.key"), h, h)?,
                linear(&format!("{p}.attention.self.value"), h, h)?,
            );
            let qkv = Linear {
                w: [q.w, k.w, v.w].concat(),
                b: [q.b, k.b, v.b].concat(),
                inp: h,
            };
            layers.push(Layer {
                qkv,
                attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up: linear(&format!("{p}.intermediate.dense"), cfg.intermediate_size, h)?,
                down: linear(&format!("{p}.output.dense"), h, cfg.intermediate_size)?,
                out_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        let token_types = rows_of("embeddings.token_type_embeddings.weight")?;
        let mut token_type = get("embeddings.token_type_embeddings.weight", &[token_types, h])?;
        token_type.truncate(h);
        Ok(Self {
            word: get("embeddings.word_embeddings.weight", &[vocab, h])?,
            position: get(
                "embeddings.position_embeddings.weight",
                &[cfg.max_position_embeddings, h],
            )?,
            token_type,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
            vocab,
            cfg,
        })
    }

    /// The most tokens one text may have.
    pub(super) fn max_positions(&self) -> usize {
        self.cfg.max_position_embeddings
    }

    /// Each text's mean-pooled, L2-normalised embedding. `texts` are token ids (each within the
    /// vocabulary and at most [`Bert::max_positions`] long).
    pub(super) fn embed(&self, texts: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let h = self.cfg.hidden_size;
        let mut starts = Vec::with_capacity(texts.len() + 1);
        let mut total = 0;
        for t in texts {
            if t.len() > self.max_positions() {
                return Err(format!(
                    "{} tokens, more than {}",
                    t.len(),
                    self.max_positions()
                ));
            }
            if let Some(&bad) = t.iter().find(|&&id| id as usize >= self.vocab) {
                return Err(format!("token id {bad} outside the vocabulary"));
            }
            starts.push(total);
            total += t.len();
        }
        starts.push(total);
        if total == 0 {
            return Ok(vec![vec![0.0; h]; texts.len()]);
        }
        let par = if total >= PARALLEL_ROWS {
            Parallelism::Rayon(0)
        } else {
            Parallelism::None
        };
        let eps = self.cfg.layer_norm_eps as f32;

        let mut x = vec![0.0f32; total * h];
        for (t, ids) in texts.iter().enumerate() {
            for (pos, &id) in ids.iter().enumerate() {
                let row = &mut x[(starts[t] + pos) * h..][..h];
                let word = &self.word[id as usize * h..][..h];
                let place = &self.position[pos * h..][..h];
                for (((x, w), p), t) in row.iter_mut().zip(word).zip(place).zip(&self.token_type) {
                    *x = w + p + t;
                }
            }
        }
        let n = &self.emb_norm;
        kernels::each_chunk(&mut x, h * 32, par, |_, rows| {
            kernels::layer_norm(rows, &n.w, &n.b, eps)
        });

        let mut qkv = vec![0.0f32; total * 3 * h];
        let mut ctx = vec![0.0f32; total * h];
        let mut mid = vec![0.0f32; total * self.cfg.intermediate_size];
        let mut after_attn = vec![0.0f32; total * h];
        for layer in &self.layers {
            let l = &layer.qkv;
            kernels::linear(&x, total, h, &l.w, Some(&l.b), &mut qkv, par);
            self.attention(&qkv, &starts, &mut ctx, par);
            let l = &layer.attn_out;
            kernels::linear(&ctx, total, l.inp, &l.w, None, &mut after_attn, par);
            add_norm(&mut after_attn, &l.b, &x, &layer.attn_norm, eps, h, par);
            let l = &layer.up;
            // The product alone; its bias is added in the GELU pass (one pass less over the
            // widest activations).
            kernels::linear(&after_attn, total, l.inp, &l.w, None, &mut mid, par);
            let b = &l.b;
            kernels::each_chunk(&mut mid, b.len() * 16, par, |_, rows| {
                kernels::gelu(rows, b)
            });
            let l = &layer.down;
            kernels::linear(&mid, total, l.inp, &l.w, None, &mut x, par);
            add_norm(&mut x, &l.b, &after_attn, &layer.out_norm, eps, h, par);
        }

        // Mean over each text's tokens, then L2 normalisation (sentence-transformers' pooling).
        Ok(starts
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                let mut v = vec![0.0f32; h];
                for row in x[a * h..b * h].chunks_exact(h) {
                    for (s, x) in v.iter_mut().zip(row) {
                        *s += x;
                    }
                }
                let n = (b - a).max(1) as f32;
                v.iter_mut().for_each(|s| *s /= n);
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|s| *s /= norm);
                v
            })
            .collect())
    }

    /// Self-attention of every text and head: `softmax(q·kᵀ/√d)·v`, written into `ctx` (each
    /// head's columns of each text's rows).
    fn attention(&self, qkv: &[f32], starts: &[usize], ctx: &mut [f32], par: Parallelism) {
        let h = self.cfg.hidden_size;
        let heads = self.cfg.num_attention_heads;
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let stride = 3 * h as isize;
        let jobs: Vec<(usize, usize)> = (0..starts.len() - 1)
            .flat_map(|t| (0..heads).map(move |hd| (t, hd)))
            .collect();
        let out = SharedOut(ctx.as_mut_ptr());
        let run = |&(t, hd): &(usize, usize), scores: &mut Vec<f32>| {
            let (a, b) = (starts[t], starts[t + 1]);
            let n = b - a;
            if n == 0 {
                return;
            }
            scores.clear();
            scores.resize(n * n, 0.0);
            let base = qkv[a * 3 * h..].as_ptr();
            // SAFETY: the views address rows a..b of the packed q, k and v (inside `qkv`), the
            // destinations are this job's own n × n scores and its text's rows × head's
            // columns of `ctx`, which no other job writes.
            unsafe {
                let q = View {
                    ptr: base.add(hd * d),
                    rs: stride,
                    cs: 1,
                };
                // kᵀ: element (i, j) is key j's component i.
                let kt = View {
                    ptr: base.add(h + hd * d),
                    rs: 1,
                    cs: stride,
                };
                kernels::product(n, n, d, scores.as_mut_ptr(), n as isize, q, kt, scale);
                for row in scores.chunks_exact_mut(n) {
                    kernels::softmax(row);
                }
                let p = View {
                    ptr: scores.as_ptr(),
                    rs: n as isize,
                    cs: 1,
                };
                let v = View {
                    ptr: base.add(2 * h + hd * d),
                    rs: stride,
                    cs: 1,
                };
                let dst = out.at(a * h + hd * d);
                kernels::product(n, d, n, dst, h as isize, p, v, 1.0);
            }
        };
        match par {
            Parallelism::None => {
                let mut scores = Vec::new();
                jobs.iter().for_each(|j| run(j, &mut scores));
            }
            _ => jobs.par_iter().for_each_init(Vec::new, |s, j| run(j, s)),
        }
    }
}

/// `xs = layer_norm(xs + bias + residual)`, row by row (rows of `h`).
fn add_norm(
    xs: &mut [f32],
    bias: &[f32],
    residual: &[f32],
    norm: &Norm,
    eps: f32,
    h: usize,
    par: Parallelism,
) {
    kernels::each_chunk(xs, h * 32, par, |at, rows| {
        let res = &residual[at..at + rows.len()];
        kernels::add_norm(rows, bias, res, &norm.w, &norm.b, eps)
    });
}

/// `ctx`'s buffer, written by attention jobs at disjoint places from several threads.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: each job writes its own text's rows × head's columns only (see `attention`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The address `offset` floats in.
    ///
    /// # Safety
    /// `offset` must be inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller keeps `offset` inside the buffer.
        unsafe { self.0.add(offset) }
    }
}
