//! Counts every relay process shares, in Redis (`--redis-url`): the token budgets and a per-client
//! request count per minute, so that two replicas behind a load balancer allow what one would.
//!
//! Each check is one Lua script, run atomically by Redis: it reads every count a request touches
//! and adds to them only if all have room, each key expiring with its window. Every call has a
//! short deadline; when Redis cannot be reached the relay keeps serving, counting in its own
//! memory as it does without Redis, says so once in its log (and in `chat_relay_redis_up`), tries
//! Redis again at most once a second, and says so when Redis is back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{Client, Script};
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
        let client = Client::open(url).map_err(|error| format!("--redis-url: {error}"))?;
        Ok(Shared {
            client,
            connection: Mutex::new(None),
            up: AtomicBool::new(true),
            last_try: AtomicU64::new(0),
            born: Instant::now(),
            reserve: Script::new(RESERVE),
            adjust: Script::new(ADJUST),
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
                eprintln!("chat-relay: Redis answers again: limits and budgets are shared again");
            } else {
                eprintln!(
                    "chat-relay: Redis does not answer: limits and budgets are counted in this \
                     process until it does"
                );
            }
        }
    }
}
