//! The engine a server's handlers work with, which may still be opening.
//!
//! Claude Code starts a server per session and waits for its answer to `initialize`; opening the
//! store (migrations, the project's row) is the largest part of a start, and `initialize` does not
//! need it. So a stdio server answers while the store opens, and the first call that needs the
//! engine waits for it. A store that cannot be opened makes every such call an error that says why.

use std::sync::Arc;

use tokio::sync::SetOnce;

use crate::Orchestrator;

/// An [`Orchestrator`] that is open or opening.
#[derive(Debug, Clone)]
pub(crate) struct Engine(Arc<SetOnce<Result<Orchestrator, String>>>);

impl Engine {
    /// An engine already open.
    pub(crate) fn ready(orchestrator: Orchestrator) -> Self {
        Self(Arc::new(SetOnce::new_with(Some(Ok(orchestrator)))))
    }

    /// Opens the engine in a task of its own; `then` runs with it once it is open.
    pub(crate) fn opening<F, T>(
        open: F,
        then: impl FnOnce(Orchestrator) -> T + Send + 'static,
    ) -> Self
    where
        F: Future<Output = crate::Result<Orchestrator>> + Send + 'static,
        T: Future<Output = ()> + Send + 'static,
    {
        let cell = Arc::new(SetOnce::new());
        let opened = cell.clone();
        tokio::spawn(async move {
            // Even a panic while opening must not leave the handlers waiting forever.
            let result = match tokio::spawn(open).await {
                Ok(opened) => opened.map_err(|e| e.to_string()),
                Err(panicked) => Err(panicked.to_string()),
            }
            .map_err(|e| format!("the orchestrator could not open its store: {e}"));
            match &result {
                Ok(orchestrator) => {
                    tokio::spawn(then(orchestrator.clone()));
                }
                Err(e) => tracing::error!("{e}"),
            }
            let _ = opened.set(result);
        });
        Self(cell)
    }

    /// The engine, once open; why not, if it could not be opened.
    pub(crate) async fn get(&self) -> Result<&Orchestrator, String> {
        self.0.wait().await.as_ref().map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_cannot_open_is_every_callers_error_and_an_open_one_their_engine() {
        let engine = Engine::opening(
            async { Err(crate::Error::Internal("disk full".into())) },
            |_| async {},
        );
        let error = engine.get().await.unwrap_err();
        assert!(error.contains("could not open its store") && error.contains("disk full"));
        assert!(engine.clone().get().await.is_err());

        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("o.db")).unwrap();
        let orchestrator = Orchestrator::with_store(store, dir.path(), "p")
            .await
            .unwrap();
        let (told, heard) = tokio::sync::oneshot::channel();
        let engine = Engine::opening(async move { Ok(orchestrator) }, move |o| async move {
            let _ = told.send(o.project().name.clone());
        });
        assert_eq!(engine.get().await.unwrap().project().name, "p");
        assert_eq!(heard.await.unwrap(), "p");
    }
}
