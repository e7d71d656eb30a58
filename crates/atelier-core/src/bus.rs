//! The event bus: one global, increasing `seq`; a replay buffer per topic; durable events written
//! to SQLite in seq order; a bounded queue per subscriber that turns overflow into an explicit
//! `stream.gap` instead of growing or losing events silently.
//!
//! Ordering: `seq` is assigned and the event is delivered while the bus lock is held, so every
//! subscriber sees its topics' events in seq order. Durable rows are queued to the store's single
//! writer in the same critical section, so they land in seq order too.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use atelier_protocol::{Event, EventNotification, StreamGap, event_types};
use atelier_store::{EventRow, Store};
use serde_json::Value;
use tokio::sync::Notify;

/// How many events each topic keeps for replay.
pub const TOPIC_REPLAY: usize = 1024;
/// How many durable events are loaded back into the replay buffers at start-up.
const BOOT_REPLAY: usize = 20_000;

/// Event types that are high-volume and only meaningful live: kept in the replay buffer but not
/// written to SQLite. The state they describe is persisted by other means (a streaming reply's
/// text is saved about every 100 ms and ends with a durable `message.completed`).
fn is_ephemeral(kind: &str) -> bool {
    matches!(
        kind,
        "message.delta"
            | "file.delta"
            | "tool.output"
            | "terminal.output"
            | "model.pull_progress"
            | "project.import_progress"
            | "system.metrics"
            | "coordinator.metrics"
            | "workflow.progress"
            | "verify.line"
            | "index.progress"
            | "index.updated"
            // MCP servers' state is in `mcp.list`; a status carries stderr lines, which stay
            // out of the database.
            | "mcp.server_status"
            | "mcp.server_health"
            | "mcp.tools_changed"
            | "mcp.server_removed"
    )
}

/// An event with its notification already serialized once for every subscriber.
#[derive(Debug)]
pub struct Published {
    pub event: Event,
    pub json: String,
}

impl Published {
    fn new(event: Event) -> Arc<Self> {
        let json = serde_json::to_string(&EventNotification::new(&event)).unwrap_or_default();
        Arc::new(Self { event, json })
    }
}

#[derive(Default)]
struct Topic {
    buffer: VecDeque<Arc<Published>>,
    /// Events up to this seq may be missing from `buffer` (evicted, or ephemeral ones from
    /// before the last start); a replay from before it starts with a gap.
    lossy_up_to: u64,
    subscribers: HashSet<u64>,
}

struct State {
    next_seq: u64,
    topics: HashMap<String, Topic>,
    subscribers: HashMap<u64, Arc<SubscriberQueue>>,
    next_subscriber: u64,
    /// Topics with no retained events that existed before the last start may have had events up
    /// to here.
    boot_floor: u64,
}

#[derive(Clone)]
pub struct EventBus {
    state: Arc<Mutex<State>>,
    store: Store,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").finish_non_exhaustive()
    }
}

fn now() -> String {
    atelier_store::now()
}

/// The first seq of this start: past every stored event and past every ephemeral one an earlier
/// start handed out (those were never stored, and clients keep the highest seq they saw). A run
/// hands out far fewer than one seq per microsecond, so the microseconds since 1970 are past
/// anything an earlier start reached; the stored maximum covers a clock set back.
fn first_seq(max_stored: u64) -> u64 {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    // Below 2^53 so JavaScript clients read it exactly (micros reach that in the year 2255).
    (max_stored + 1).max(micros.min((1 << 53) - 1))
}

impl EventBus {
    /// Builds the bus from the store: seq continues after the largest stored one, and the most
    /// recent durable events are replayable again.
    pub fn load(store: Store) -> Result<Self, atelier_store::StoreError> {
        let max_seq = store.max_event_seq_blocking()?;
        let recent = store.recent_events_blocking(BOOT_REPLAY)?;
        let boot_floor = recent.first().map(|e| e.seq.saturating_sub(1)).unwrap_or(max_seq);
        let mut topics: HashMap<String, Topic> = HashMap::new();
        for row in recent {
            let data = serde_json::from_str(&row.data).unwrap_or(Value::Null);
            let event = Event { seq: row.seq, topic: row.topic, kind: row.kind, time: row.time, data };
            let topic = topics.entry(event.topic.clone()).or_default();
            // Ephemeral events from before this start are gone, and a reply may have been
            // streaming on this topic right up to the end.
            topic.lossy_up_to = max_seq;
            push_bounded(topic, Published::new(event));
        }
        let state = State {
            next_seq: first_seq(max_seq),
            topics,
            subscribers: HashMap::new(),
            next_subscriber: 1,
            boot_floor,
        };
        Ok(Self { state: Arc::new(Mutex::new(state)), store })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The seq of the latest published event (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Publishes an event. Callers commit the state change it announces before calling this.
    pub fn publish(&self, topic: &str, kind: &str, data: Value) -> u64 {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        let event = Event { seq, topic: topic.to_owned(), kind: kind.to_owned(), time: now(), data };
        if !is_ephemeral(kind) {
            self.store.insert_event_detached(EventRow {
                seq,
                topic: event.topic.clone(),
                kind: event.kind.clone(),
                time: event.time.clone(),
                data: event.data.to_string(),
            });
        }
        let published = Published::new(event);
        let state = &mut *state;
        let entry = state.topics.entry(topic.to_owned()).or_default();
        for id in &entry.subscribers {
            if let Some(queue) = state.subscribers.get(id) {
                queue.push(published.clone());
            }
        }
        push_bounded(entry, published);
        seq
    }

    /// Registers a new subscriber with an event queue of `capacity` events.
    pub fn subscriber(&self, capacity: usize) -> Subscriber {
        let mut state = self.lock();
        let id = state.next_subscriber;
        state.next_subscriber += 1;
        let queue = Arc::new(SubscriberQueue::new(capacity));
        state.subscribers.insert(id, queue.clone());
        Subscriber { id, queue, bus: self.clone(), topics: Mutex::new(HashSet::new()) }
    }

    fn subscribe(&self, id: u64, topics: &[String], after_seq: Option<u64>) -> u64 {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(queue) = state.subscribers.get(&id).cloned() else { return state.next_seq - 1 };
        let mut gaps = Vec::new();
        let mut replay = Vec::new();
        for name in topics {
            let topic = state.topics.entry(name.clone()).or_default();
            let newly = topic.subscribers.insert(id);
            let Some(after) = after_seq else { continue };
            if !newly {
                // Already live on this topic: replaying would duplicate what it has.
                continue;
            }
            let lossy = if topic.buffer.is_empty() && topic.lossy_up_to == 0 {
                state.boot_floor
            } else {
                topic.lossy_up_to
            };
            if after < lossy {
                gaps.push((name.clone(), after + 1, lossy));
            }
            replay.extend(topic.buffer.iter().filter(|e| e.event.seq > after).cloned());
        }
        replay.sort_by_key(|e| e.event.seq);
        for (topic, from, to) in gaps {
            queue.push_gap(&topic, from, to);
        }
        for event in replay {
            queue.push(event);
        }
        state.next_seq - 1
    }

    fn unsubscribe(&self, id: u64, topics: &[String]) {
        let mut state = self.lock();
        for name in topics {
            if let Some(topic) = state.topics.get_mut(name) {
                topic.subscribers.remove(&id);
            }
        }
    }

    fn remove(&self, id: u64, topics: &HashSet<String>) {
        let mut state = self.lock();
        for name in topics {
            if let Some(topic) = state.topics.get_mut(name) {
                topic.subscribers.remove(&id);
            }
        }
        if let Some(queue) = state.subscribers.remove(&id) {
            queue.close();
        }
    }

    /// How many subscribers (connected clients) there are.
    pub fn subscriber_count(&self) -> usize {
        self.lock().subscribers.len()
    }

    /// Whether anyone listens on `topic` (so periodic events are only made for someone).
    pub fn has_subscribers(&self, topic: &str) -> bool {
        self.lock().topics.get(topic).is_some_and(|t| !t.subscribers.is_empty())
    }
}

/// Terminal output comes in batches of up to 64 KiB: a terminal's replay stays short, and a
/// client that reattaches gets its screen from the terminal's scrollback instead.
const TERMINAL_REPLAY: usize = 16;

fn push_bounded(topic: &mut Topic, event: Arc<Published>) {
    let capacity = if event.event.topic.starts_with("terminal/") { TERMINAL_REPLAY } else { TOPIC_REPLAY };
    if topic.buffer.len() >= capacity
        && let Some(old) = topic.buffer.pop_front()
    {
        topic.lossy_up_to = topic.lossy_up_to.max(old.event.seq);
    }
    topic.buffer.push_back(event);
}

/// One client's view of the bus: its topics and its bounded event queue. Dropping it
/// unsubscribes from everything.
#[derive(Debug)]
pub struct Subscriber {
    id: u64,
    queue: Arc<SubscriberQueue>,
    bus: EventBus,
    topics: Mutex<HashSet<String>>,
}

impl Subscriber {
    /// Subscribes to `topics`; with `after_seq`, first queues every retained event of those
    /// topics after it (a `stream.gap` first when some are gone). Returns the bus's last seq.
    pub fn subscribe(&self, topics: &[String], after_seq: Option<u64>) -> u64 {
        self.topics_lock().extend(topics.iter().cloned());
        self.bus.subscribe(self.id, topics, after_seq)
    }

    pub fn unsubscribe(&self, topics: &[String]) {
        let mut mine = self.topics_lock();
        for topic in topics {
            mine.remove(topic);
        }
        self.bus.unsubscribe(self.id, topics);
    }

    /// How many topics this subscriber would have after adding `topics`.
    pub fn topic_count_with(&self, topics: &[String]) -> usize {
        let mine = self.topics_lock();
        mine.len() + topics.iter().filter(|t| !mine.contains(*t)).count()
    }

    fn topics_lock(&self) -> MutexGuard<'_, HashSet<String>> {
        self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the next event; `None` once the subscriber is closed.
    pub async fn recv(&self) -> Option<Arc<Published>> {
        self.queue.recv().await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&self) -> Option<Arc<Published>> {
        self.queue.try_recv()
    }

    /// Ends `recv` for whoever waits on it.
    pub fn close(&self) {
        self.queue.close();
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let topics = std::mem::take(&mut *self.topics_lock());
        self.bus.remove(self.id, &topics);
    }
}

struct QueueState {
    items: VecDeque<Arc<Published>>,
    /// Per topic, the range of seqs dropped because the queue was full, not yet reported.
    gaps: BTreeMap<String, (u64, u64)>,
    closed: bool,
}

/// A bounded queue with one consumer. When full, events are dropped and remembered as a gap per
/// topic; the gap is reported before the next event of that topic, or as soon as the consumer
/// has caught up.
struct SubscriberQueue {
    state: Mutex<QueueState>,
    notify: Notify,
    capacity: usize,
}

impl std::fmt::Debug for SubscriberQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriberQueue").field("capacity", &self.capacity).finish()
    }
}

fn gap_event(topic: &str, from: u64, to: u64) -> Arc<Published> {
    Published::new(Event {
        seq: to,
        topic: topic.to_owned(),
        kind: event_types::STREAM_GAP.to_owned(),
        time: now(),
        data: atelier_protocol::to_value(&StreamGap { from_seq: from, to_seq: to }),
    })
}

impl SubscriberQueue {
    fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(QueueState { items: VecDeque::new(), gaps: BTreeMap::new(), closed: false }),
            notify: Notify::new(),
            capacity: capacity.max(2),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, event: Arc<Published>) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        let topic = &event.event.topic;
        // A pending gap on this topic is reported before anything newer on it.
        if let Some(&(from, to)) = state.gaps.get(topic) {
            if state.items.len() + 2 <= self.capacity {
                state.gaps.remove(topic);
                state.items.push_back(gap_event(topic, from, to));
            } else {
                let seq = event.event.seq;
                if let Some(gap) = state.gaps.get_mut(topic) {
                    gap.1 = seq;
                }
                return;
            }
        }
        if state.items.len() < self.capacity {
            state.items.push_back(event);
        } else {
            let seq = event.event.seq;
            state.gaps.entry(topic.clone()).and_modify(|g| g.1 = seq).or_insert((seq, seq));
        }
        drop(state);
        self.notify.notify_one();
    }

    fn push_gap(&self, topic: &str, from: u64, to: u64) {
        let mut state = self.lock();
        state.items.push_back(gap_event(topic, from, to));
        drop(state);
        self.notify.notify_one();
    }

    fn try_recv(&self) -> Option<Arc<Published>> {
        let mut state = self.lock();
        if let Some(event) = state.items.pop_front() {
            return Some(event);
        }
        let topic = state.gaps.keys().next().cloned()?;
        let (from, to) = state.gaps.remove(&topic)?;
        Some(gap_event(&topic, from, to))
    }

    async fn recv(&self) -> Option<Arc<Published>> {
        loop {
            if let Some(event) = self.try_recv() {
                return Some(event);
            }
            if self.lock().closed {
                return None;
            }
            // One consumer: notify_one keeps a permit when nobody waits, so no wake-up is lost
            // between the check above and this await.
            self.notify.notified().await;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }
}
