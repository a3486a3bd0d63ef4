//! What every relay process shares, in Redis (`--redis-url`): the token budgets and a per-client
//! request count per minute, so that two replicas behind a load balancer allow what one would;
//! and the streamed replies kept for a resume (a Redis Stream each), so that a browser whose
//! connection dropped can resume its reply through another replica, and stop it there.
//!
//! Each check is one Lua script, run atomically by Redis: it reads every count a request touches
//! and adds to them only if all have room, each key expiring with its window. Every call has a
//! short deadline; when Redis cannot be reached the relay keeps serving, counting in its own
//! memory as it does without Redis, says so once in its log (and in `chat_relay_redis_up`), tries
//! Redis again at most once a second, and says so when Redis is back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use redis::aio::ConnectionManager;
use redis::{Client, Script};

use crate::replay::Owner;
use tokio::sync::Mutex;

/// How long one call to Redis may take before the relay counts locally instead.
const DEADLINE: Duration = Duration::from_millis(250);
/// How often a Redis that failed is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Adds as much as every key has room for (each within its limit, `ARGV[2i+1]`), up to
/// `ARGV[2]` and at least `ARGV[1]`, setting each key's expiry (`ARGV[2i+2]` seconds); returns
/// the amount added, or minus the 1-based index of the key with too little room.
const RESERVE: &str = r"
local least = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local room = tonumber(ARGV[2 * i + 1]) - tonumber(redis.call('GET', key) or '0')
  if room < least then
    return -i
  end
  if room < amount then
    amount = room
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, amount)
  redis.call('EXPIRE', key, tonumber(ARGV[2 * i + 2]))
end
return amount
";

/// Adds `ARGV[1]` (which may be negative) to every key that still exists, never below 0.
const ADJUST: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local value = redis.call('INCRBY', key, tonumber(ARGV[1]))
    if value < 0 then
      redis.call('SET', key, 0, 'KEEPTTL')
    end
  end
end
return 0
";

/// A Redis Stream entry: its id and its fields' names and values, in turn.
type Entry = (String, Vec<Vec<u8>>);

/// The most events one read of a kept reply returns.
pub const READ_AT_ONCE: usize = 512;
/// The most replies one [`Shared::watch`] asks about.
pub const WATCH_AT_ONCE: usize = 500;
/// How long a process that runs a reply is taken to be alive after it last said so.
pub const ALIVE: Duration = Duration::from_secs(10);

/// Writes a kept reply (see [`Shared::add_events`]): `KEYS` are its events, its owner and its
/// liveness; `ARGV` the expiry and the liveness in milliseconds, the owner's client, origin and
/// whether it has one, the first event's number, whether this is the end, and the events.
const ADD: &str = r"
local keep = tonumber(ARGV[1])
redis.call('HSET', KEYS[2], 'client', ARGV[3], 'origin', ARGV[4], 'has_origin', ARGV[5])
redis.call('PEXPIRE', KEYS[2], keep)
local first = tonumber(ARGV[6])
for i = 8, #ARGV do
  -- An event written by an earlier try is refused as not newer, and stays as it is.
  redis.pcall('XADD', KEYS[1], '0-' .. (first + i - 7), 'f', ARGV[i])
end
if ARGV[7] == '1' then
  redis.pcall('XADD', KEYS[1], '0-' .. (first + #ARGV - 6), 'end', '1')
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[3], '1', 'PX', tonumber(ARGV[2]))
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return 0
";

/// The Redis Stream of reply `id`'s events: entry `0-{n+1}` is event `n` (field `f`), and an
/// entry with field `end` follows the last.
fn events_key(id: &str) -> String {
    format!("chat-relay:reply:{id}")
}

fn owner_key(id: &str) -> String {
    format!("chat-relay:reply:{id}:owner")
}

fn stop_key(id: &str) -> String {
    format!("chat-relay:reply:{id}:stop")
}

fn listened_key(id: &str) -> String {
    format!("chat-relay:reply:{id}:listened")
}

fn alive_key(id: &str) -> String {
    format!("chat-relay:reply:{id}:alive")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The Redis Stream entry id of event `number` (ids must be above `0-0`).
fn entry_id(number: usize) -> String {
    format!("0-{}", u128::from(number as u64) + 1)
}

/// A count in Redis: its key, its limit, and the seconds until its window ends.
pub struct Count {
    /// The key.
    pub key: String,
    /// The most it may reach.
    pub limit: u64,
    /// Seconds until its window ends (its expiry).
    pub ttl: u64,
}

/// The connection to Redis and whether it answers.
pub struct Shared {
    client: Client,
    connection: Mutex<Option<ConnectionManager>>,
    up: AtomicBool,
    /// When the last attempt to reach a failed Redis was made (milliseconds since `born`).
    last_try: AtomicU64,
    born: Instant,
    reserve: Script,
    adjust: Script,
    add: Script,
    /// What falls back to this process when Redis does not answer, for the log.
    falls_back: &'static str,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Shared")
            .field("up", &self.up.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Counts in the Redis at `url` (`redis://host:port/db`); an error names what is wrong with
    /// the URL. Connecting happens on first use.
    pub fn new(url: &str) -> Result<Self, String> {
        Self::falling_back(url, "limits and budgets are counted in this process")
    }

    /// For the replies kept for a resume, with a connection of its own, so that their traffic
    /// never delays the counts or has them fall back.
    pub fn for_replies(url: &str) -> Result<Self, String> {
        Self::falling_back(
            url,
            "replies can be resumed only through the process that runs them",
        )
    }

    fn falling_back(url: &str, falls_back: &'static str) -> Result<Self, String> {
        let client = Client::open(url).map_err(|error| format!("--redis-url: {error}"))?;
        Ok(Shared {
            client,
            connection: Mutex::new(None),
            up: AtomicBool::new(true),
            last_try: AtomicU64::new(0),
            born: Instant::now(),
            reserve: Script::new(RESERVE),
            adjust: Script::new(ADJUST),
            add: Script::new(ADD),
            falls_back,
        })
    }

    /// Whether Redis answered the last call.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Adds to every count as much as all have room for, between `least` and `most`:
    /// `Ok(Ok(amount))` then, or `Ok(Err(i))` for the first count with less room than `least`;
    /// `Err` when Redis could not be asked (count locally then).
    pub async fn reserve(
        &self,
        counts: &[Count],
        least: u64,
        most: u64,
    ) -> Result<Result<u64, usize>, ()> {
        let mut invocation = self.reserve.prepare_invoke();
        invocation.arg(least).arg(most);
        for count in counts {
            invocation
                .key(&count.key)
                .arg(count.limit)
                .arg(count.ttl.max(1));
        }
        let result: i64 = self
            .call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await?;
        Ok(match u64::try_from(result) {
            Ok(amount) => Ok(amount),
            Err(_) => Err(usize::try_from(result.unsigned_abs()).map_or(0, |index| index - 1)),
        })
    }

    /// Adds `delta` to every key that still exists (not below 0).
    pub async fn adjust(&self, keys: &[String], delta: i64) {
        let mut invocation = self.adjust.prepare_invoke();
        invocation.arg(delta);
        for key in keys {
            invocation.key(key);
        }
        let _: Result<i64, ()> = self
            .call(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
    }

    /// Writes reply `id`'s owner and its events numbered `first..` (an event already written is
    /// left as it is, so a write can be tried again), and its end when `ended`; says the process
    /// running it is alive for [`ALIVE`] (or, at its end, no longer). Everything it keeps expires
    /// after `keep`. Whether Redis took it.
    pub async fn add_events(
        &self,
        id: &str,
        owner: &Owner,
        first: usize,
        frames: &[Bytes],
        ended: bool,
        keep: Duration,
    ) -> bool {
        let mut invocation = self.add.prepare_invoke();
        invocation
            .key(events_key(id))
            .key(owner_key(id))
            .key(alive_key(id))
            .arg(millis(keep))
            .arg(millis(ALIVE))
            .arg(owner.client.to_string())
            .arg(owner.origin.as_deref().unwrap_or(""))
            .arg(u8::from(owner.origin.is_some()))
            .arg(first)
            .arg(u8::from(ended));
        for frame in frames {
            invocation.arg(frame.as_ref());
        }
        self.call(
            |mut connection| async move { invocation.invoke_async::<i64>(&mut connection).await },
        )
        .await
        .is_ok()
    }

    /// Who started reply `id`, when Redis keeps it (`Ok(None)` when it does not); `Err` when Redis
    /// could not be asked.
    pub async fn kept_owner(&self, id: &str) -> Result<Option<Owner>, ()> {
        let key = owner_key(id);
        let fields: HashMap<String, String> = self
            .call(|mut connection| async move {
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        let origin = match fields.get("has_origin").map(String::as_str) {
            Some("1") => fields.get("origin").cloned(),
            _ => None,
        };
        Ok(fields
            .get("client")
            .and_then(|client| client.parse().ok())
            .map(|client| Owner { origin, client }))
    }

    /// Reply `id`'s events from number `from` on (at most [`READ_AT_ONCE`]), and whether nothing
    /// more will come: its end was read, or a gap, or the process running it is gone. Marks it
    /// as followed for `listened` (see [`Shared::watch`]).
    pub async fn kept_events(
        &self,
        id: &str,
        from: usize,
        listened: Duration,
    ) -> Result<(Vec<Bytes>, bool), ()> {
        let (events, listened_key, alive) = (events_key(id), listened_key(id), alive_key(id));
        let (entries, alive): (Vec<Entry>, bool) = self
            .call(|mut connection| async move {
                redis::pipe()
                    .cmd("XRANGE")
                    .arg(&events)
                    .arg(entry_id(from))
                    .arg("+")
                    .arg("COUNT")
                    .arg(READ_AT_ONCE)
                    .cmd("EXISTS")
                    .arg(&alive)
                    .cmd("SET")
                    .arg(&listened_key)
                    .arg(1)
                    .arg("PX")
                    .arg(millis(listened))
                    .ignore()
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        let read = entries.len();
        let mut frames = Vec::new();
        for (number, (entry, fields)) in (from..).zip(entries) {
            // Numbered without a gap, or the reply cannot be told whole from here.
            if entry != entry_id(number) {
                return Ok((frames, true));
            }
            match fields.as_slice() {
                [field, frame] if field == b"f" => frames.push(Bytes::from(frame.clone())),
                _ => return Ok((frames, true)),
            }
        }
        // Nothing new from a process that is gone: nothing will come.
        Ok((frames, read == 0 && !alive))
    }

    /// Asks the process that runs reply `id` to stop it (see [`Shared::watch`]).
    pub async fn stop_kept(&self, id: &str, keep: Duration) -> Result<(), ()> {
        let key = stop_key(id);
        self.call(|mut connection| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("PX")
                .arg(millis(keep))
                .query_async::<()>(&mut connection)
                .await
        })
        .await
    }

    /// For each of the replies `ids` (at most [`WATCH_AT_ONCE`]) that this process runs: whether
    /// another process was asked to stop it, and whether another process follows it now.
    pub async fn watch(&self, ids: &[String]) -> Result<Vec<(bool, bool)>, ()> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = redis::cmd("MGET");
        for id in ids {
            get.arg(stop_key(id)).arg(listened_key(id));
        }
        let found: Vec<Option<String>> = self
            .call(|mut connection| async move { get.query_async(&mut connection).await })
            .await?;
        Ok(found
            .chunks(2)
            .map(|pair| (pair[0].is_some(), pair.get(1).is_some_and(Option::is_some)))
            .collect())
    }

    /// Runs `work` on a connection within the deadline, noting whether Redis answered.
    async fn call<T, F, Fut>(&self, work: F) -> Result<T, ()>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let now = self.born.elapsed().as_millis() as u64;
        if !self.is_up()
            && now.saturating_sub(self.last_try.load(Ordering::Relaxed)) < RETRY.as_millis() as u64
        {
            return Err(());
        }
        self.last_try.store(now, Ordering::Relaxed);
        let result = tokio::time::timeout(DEADLINE, async {
            let connection = self.connection().await?;
            work(connection).await.map_err(|_| ())
        })
        .await
        .unwrap_or(Err(()));
        self.note(result.is_ok());
        result
    }

    async fn connection(&self) -> Result<ConnectionManager, ()> {
        let mut connection = self.connection.lock().await;
        if let Some(connection) = connection.as_ref() {
            return Ok(connection.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEADLINE))
            .set_response_timeout(Some(DEADLINE))
            .set_number_of_retries(1)
            .set_max_delay(RETRY);
        let made = ConnectionManager::new_with_config(self.client.clone(), config)
            .await
            .map_err(|_| ())?;
        *connection = Some(made.clone());
        Ok(made)
    }

    fn note(&self, answered: bool) {
        if self.up.swap(answered, Ordering::Relaxed) != answered {
            if answered {
                eprintln!(
                    "chat-relay: Redis answers again: shared again ({})",
                    self.falls_back
                );
            } else {
                eprintln!(
                    "chat-relay: Redis does not answer: {} until it does",
                    self.falls_back
                );
            }
        }
    }
}
