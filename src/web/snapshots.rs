//! Snapshot topics shared by every open tab: one producer per topic (the overview, the approvals
//! queue, a plan at a version) builds its JSON while anyone follows it, and only when something
//! could have changed it — the store's content (any process's commit), this engine's approvals
//! queue or background plan runs, or every few seconds for what is derived from the clock. Tabs
//! following the same topic get the same string; the producer stops with its last follower.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use crate::Orchestrator;
use crate::domain::PlanId;

/// How often the store's stamp is looked at for other processes' writes.
const LOOK_EVERY: Duration = Duration::from_millis(700);

/// How often a snapshot is built again even when nothing says it changed (a plan run's elapsed
/// time).
const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// What a snapshot is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Topic {
    /// The project's plans and counts.
    Overview,
    /// The requests waiting for a person.
    Approvals,
    /// A plan (at a version, or its current one) with its runs.
    Plan(PlanId, Option<u32>),
}

impl Topic {
    /// The topic's JSON as the page draws it.
    async fn produce(self, engine: &Orchestrator) -> crate::Result<Value> {
        match self {
            Self::Overview => super::overview_json(engine).await,
            Self::Approvals => super::waiting_json(engine.clone()).await,
            Self::Plan(id, version) => super::plan_json(engine, id, version).await,
        }
    }
}

/// The latest JSON of a topic (`None` until it is first built); the sender is dropped when the
/// topic can no longer be built (its plan is gone), which ends its followers.
pub(super) type Latest = watch::Receiver<Option<Arc<str>>>;

/// Where a topic's producer publishes.
type Publisher = Arc<watch::Sender<Option<Arc<str>>>>;

/// The producers of the topics someone follows.
#[derive(Clone, Default)]
pub(super) struct Hub {
    topics: Arc<Mutex<HashMap<Topic, Publisher>>>,
}

impl Hub {
    /// Follows `topic`: its latest JSON, kept current; starts its producer for the first follower.
    pub(super) fn follow(&self, engine: &Orchestrator, topic: Topic) -> Latest {
        let Ok(mut topics) = self.topics.lock() else {
            // A poisoned map: this follower gets a producer of its own.
            let (sender, receiver) = watch::channel(None);
            tokio::spawn(produce(
                self.clone(),
                engine.clone(),
                topic,
                Arc::new(sender),
            ));
            return receiver;
        };
        if let Some(sender) = topics.get(&topic) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(None);
        let sender = Arc::new(sender);
        topics.insert(topic, sender.clone());
        tokio::spawn(produce(self.clone(), engine.clone(), topic, sender));
        receiver
    }

    /// Forgets `topic` if nobody follows it any more; whether it was forgotten.
    fn leave_if_alone(&self, topic: Topic, sender: &Publisher) -> bool {
        let Ok(mut topics) = self.topics.lock() else {
            return sender.receiver_count() == 0;
        };
        // Checked under the lock `follow` subscribes under: nobody can join in between.
        if sender.receiver_count() > 0 {
            return false;
        }
        if topics.get(&topic).is_some_and(|s| Arc::ptr_eq(s, sender)) {
            topics.remove(&topic);
        }
        true
    }

    /// How many topics have a producer now.
    #[cfg(test)]
    fn producers(&self) -> usize {
        self.topics.lock().map_or(0, |t| t.len())
    }
}

/// Builds `topic` whenever it may have changed and publishes what differs, until nobody follows
/// it or it cannot be built.
async fn produce(hub: Hub, engine: Orchestrator, topic: Topic, sender: Publisher) {
    let mut stamp = None;
    let mut built: Option<Instant> = None;
    let mut poked = true;
    loop {
        let now = engine.store_stamp().await.ok();
        let stale = poked
            || now.is_none()
            || now != stamp
            || built.is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
        if stale {
            let Ok(value) = topic.produce(&engine).await else {
                // Followers see the sender go and end their streams.
                if let Ok(mut topics) = hub.topics.lock()
                    && topics.get(&topic).is_some_and(|s| Arc::ptr_eq(s, &sender))
                {
                    topics.remove(&topic);
                }
                return;
            };
            let data: Arc<str> = value.to_string().into();
            sender.send_if_modified(|latest| {
                if latest.as_deref() == Some(&*data) {
                    false
                } else {
                    *latest = Some(data);
                    true
                }
            });
            stamp = now;
            built = Some(Instant::now());
        }
        poked = tokio::select! {
            () = engine.shown_state_changed() => true,
            () = tokio::time::sleep(LOOK_EVERY) => false,
            () = sender.closed() => {
                if hub.leave_if_alone(topic, &sender) {
                    return;
                }
                false
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn engine() -> (tempfile::TempDir, Orchestrator) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("o.db")).unwrap();
        let engine = Orchestrator::with_store(store, dir.path(), "hub")
            .await
            .unwrap();
        (dir, engine)
    }

    #[tokio::test]
    async fn tabs_on_one_topic_share_one_producer_that_stops_with_the_last() {
        let (_dir, engine) = engine().await;
        let hub = Hub::default();
        let mut first = hub.follow(&engine, Topic::Overview);
        let mut second = hub.follow(&engine, Topic::Overview);
        let approvals = hub.follow(&engine, Topic::Approvals);
        assert_eq!(hub.producers(), 2, "one producer per topic, not per tab");
        first.changed().await.unwrap();
        second.changed().await.unwrap();
        let (a, b) = (first.borrow().clone(), second.borrow().clone());
        assert!(a.is_some());
        assert!(
            Arc::ptr_eq(a.as_ref().unwrap(), b.as_ref().unwrap()),
            "both tabs get the one string built once"
        );
        drop((first, second, approvals));
        // The producers notice within one look.
        for _ in 0..100 {
            if hub.producers() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(hub.producers(), 0);
    }

    #[tokio::test]
    async fn a_change_in_the_store_is_published_and_nothing_else_is() {
        let (dir, engine) = engine().await;
        let hub = Hub::default();
        let mut overview = hub.follow(&engine, Topic::Overview);
        overview.changed().await.unwrap();
        let before = overview.borrow_and_update().clone().unwrap();
        // Nothing changes: nothing is published over several looks.
        let quiet = tokio::time::timeout(LOOK_EVERY * 3, overview.changed()).await;
        assert!(quiet.is_err(), "an unchanged topic was published again");
        // Another connection's commit (as another process's) is seen.
        let other = crate::store::Store::open(&dir.path().join("o.db")).unwrap();
        let project = other.ensure_project(dir.path(), "hub").unwrap();
        other
            .create_plan(
                project.id,
                None,
                "New plan",
                &crate::domain::PlanContent {
                    goal: "a new goal".into(),
                    ..crate::domain::PlanContent::default()
                },
                "test",
            )
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), overview.changed())
            .await
            .expect("the change is published")
            .unwrap();
        let after = overview.borrow().clone().unwrap();
        assert_ne!(before, after);
        assert!(after.contains("New plan"), "{after}");
    }

    #[tokio::test]
    async fn a_topic_that_cannot_be_built_ends_its_followers() {
        let (_dir, engine) = engine().await;
        let hub = Hub::default();
        let mut plan = hub.follow(&engine, Topic::Plan(PlanId(999), None));
        let ended = tokio::time::timeout(Duration::from_secs(10), plan.changed())
            .await
            .expect("the follower hears the end");
        assert!(ended.is_err(), "no snapshot of a plan that does not exist");
        assert_eq!(hub.producers(), 0);
    }
}
