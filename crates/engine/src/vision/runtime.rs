//! ONNX Runtime: one process-wide environment, and `Net`, a pool of sessions for one model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use crate::EngineError;

const FETCH_HINT: &str = "run scripts/fetch-models";

/// The process-wide environment, set by the first successful `init`.
static RUNTIME: Mutex<Option<Environment>> = Mutex::new(None);

/// Loads ONNX Runtime once per process: `dir/libonnxruntime.so`, else `$ORT_DYLIB_PATH`.
/// A failed attempt is not remembered, so a later call with a good directory still works.
pub(crate) fn init(dir: &Path) -> Result<(), EngineError> {
    let mut runtime = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if runtime.is_some() {
        return Ok(());
    }
    let lib = library_path(dir).map_err(EngineError::Model)?;
    let env = ort::init_from(&lib)
        .map_err(|e| {
            EngineError::Model(format!(
                "cannot load ONNX Runtime from {}: {e}",
                lib.display()
            ))
        })?
        .with_name("photoreceipt")
        .with_telemetry(false)
        .build()
        .map_err(|e| EngineError::Model(format!("cannot start ONNX Runtime: {e}")))?;
    tracing::debug!(lib = %lib.display(), "ONNX Runtime loaded");
    *runtime = Some(env);
    Ok(())
}

fn environment() -> Result<Environment, EngineError> {
    RUNTIME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or_else(|| EngineError::Internal("ONNX Runtime used before init".into()))
}

fn library_path(dir: &Path) -> Result<PathBuf, String> {
    let local = dir.join(super::ORT_LIB_FILE);
    if local.is_file() {
        return Ok(local);
    }
    match std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from) {
        Some(p) if p.is_file() => Ok(p),
        _ => Err(format!(
            "{} not found (nor $ORT_DYLIB_PATH): {FETCH_HINT}",
            local.display()
        )),
    }
}

/// One output tensor of a run.
pub(crate) struct Output {
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

/// One model with a pool of sessions (`Session::run` needs `&mut`). Slot 0 is built at load time;
/// the others on first use, so idle pools cost no memory.
pub(crate) struct Net {
    name: String,
    bytes: Vec<u8>,
    slots: Vec<Mutex<Option<Session>>>,
    next: AtomicUsize,
    /// Declared shape of the first input (-1 for dynamic dimensions).
    pub input_shape: Vec<i64>,
}

impl Net {
    pub fn load(path: &Path) -> Result<Net, EngineError> {
        let bytes = std::fs::read(path).map_err(|e| {
            EngineError::Model(format!("cannot read {}: {e}; {FETCH_HINT}", path.display()))
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let first = build_session(&name, &bytes)?;
        let input_shape = first
            .inputs()
            .first()
            .and_then(|i| i.dtype().tensor_shape())
            .map(|s| s.iter().copied().collect())
            .ok_or_else(|| EngineError::Model(format!("{name}: no tensor input")))?;
        let size = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let mut slots: Vec<_> = (1..size).map(|_| Mutex::new(None)).collect();
        slots.insert(0, Mutex::new(Some(first)));
        Ok(Net {
            name,
            bytes,
            slots,
            next: AtomicUsize::new(0),
            input_shape,
        })
    }

    /// Runs the model on one f32 input of `shape`; returns every output, in model order.
    pub fn run(&self, shape: &[i64], input: &[f32]) -> Result<Vec<Output>, EngineError> {
        let mut slot = self.acquire();
        if slot.is_none() {
            *slot = Some(build_session(&self.name, &self.bytes)?);
        }
        let session = slot
            .as_mut()
            .ok_or_else(|| EngineError::Internal("session slot empty".into()))?;
        let err = |e: ort::Error| EngineError::Model(format!("{}: {e}", self.name));
        let tensor = TensorRef::from_array_view((shape.to_vec(), input)).map_err(err)?;
        let outputs = session.run(ort::inputs![tensor]).map_err(err)?;
        let mut result = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let (s, data) = value.try_extract_tensor::<f32>().map_err(err)?;
            result.push(Output {
                shape: s.iter().copied().collect(),
                data: data.to_vec(),
            });
        }
        Ok(result)
    }

    /// A free session if there is one, else wait for the next one in round-robin order.
    fn acquire(&self) -> MutexGuard<'_, Option<Session>> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for k in 0..n {
            match self.slots[(start + k) % n].try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        // A poisoned slot only means a panic elsewhere mid-run; the session itself is still valid.
        self.slots[start].lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn build_session(name: &str, bytes: &[u8]) -> Result<Session, EngineError> {
    let fail = |e: String| EngineError::Model(format!("{name}: {e}"));
    Session::builder(&environment()?)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| fail(e.to_string()))?
        .commit_from_memory(bytes)
        .map_err(|e| fail(e.to_string()))
}
