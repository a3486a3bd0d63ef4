//! Token budgets: how many tokens one client, and everyone together, may spend per minute and per
//! day (`--client-tokens-per-minute`, `--client-tokens-per-day`, `--tokens-per-minute`,
//! `--tokens-per-day`), on top of the request rate limit.
//!
//! A request reserves what it may cost before it goes upstream: its prompt (estimated from its
//! text, with a fixed share per image) and its `max_tokens`. A request whose reservation does not
//! fit in every budget is refused with a 429 naming the budget and when it renews. When the reply
//! ends (or the browser goes away), the reservation is settled to what the upstream reported in
//! its `usage`, or, when it reported none, to the prompt's estimate and the reply's text so far
//! (about four characters a token). So concurrent requests cannot overspend a budget, and a short
//! reply gives back what it did not use.
//!
//! Windows are fixed: the minute and the UTC day a reservation falls in. The counts live in this
//! process's memory, at most [`MAX_ENTRIES`] of them (old windows are forgotten first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use chat_protocol::{ChatRequest, Content, ContentPart, Message, StreamDecoder, StreamEvent};

use crate::metrics::Metrics;
use crate::shared::{Count, Shared};

/// What one image is counted as before the upstream says what it cost.
const IMAGE_TOKENS: u64 = 1_000;
/// The fewest tokens of answer a request is let through with: with less room left in a budget,
/// it is refused rather than cut to a word or two.
pub const LEAST_REPLY: u64 = 64;
/// The most counts kept; past it, old windows are forgotten, and then new clients are counted
/// only in everyone's budgets until there is room.
pub const MAX_ENTRIES: usize = 200_000;

/// The budgets set, in tokens; `None` is no budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetLimits {
    /// One client, per minute.
    pub client_per_minute: Option<u64>,
    /// One client, per UTC day.
    pub client_per_day: Option<u64>,
    /// Everyone together, per minute.
    pub all_per_minute: Option<u64>,
    /// Everyone together, per UTC day.
    pub all_per_day: Option<u64>,
}

impl BudgetLimits {
    /// Whether any budget is set.
    pub fn any(&self) -> bool {
        *self != BudgetLimits::default()
    }
}

/// Whose budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Scope {
    Client(IpAddr),
    All,
}

/// A window's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Span {
    Minute,
    Day,
}

impl Span {
    fn seconds(self) -> u64 {
        match self {
            Span::Minute => 60,
            Span::Day => 86_400,
        }
    }
}

/// One budget's count: whose, how long a window, which window (its number since the epoch).
type Key = (Scope, Span, u64);

/// A budget that had no room: which, and the seconds until its window renews.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exhausted {
    /// Whether it is the client's own (or everyone's).
    pub own: bool,
    /// Per day (or per minute).
    pub daily: bool,
    /// Seconds until it renews.
    pub retry_after: u64,
}

impl Exhausted {
    /// What the person reads.
    pub fn message(&self) -> String {
        let wait = if self.retry_after >= 3_600 {
            format!("{} h", self.retry_after.div_ceil(3_600))
        } else if self.retry_after >= 60 {
            format!("{} min", self.retry_after.div_ceil(60))
        } else {
            format!("{} s", self.retry_after.max(1))
        };
        let window = if self.daily { "today" } else { "this minute" };
        if self.own {
            format!("You have used the tokens this chat allows you {window}. Try again in {wait}.")
        } else {
            format!("This chat has used all the tokens it may use {window}. Try again in {wait}.")
        }
    }
}

/// The counts of every budget.
#[derive(Debug)]
pub struct Budgets {
    limits: BudgetLimits,
    counts: Mutex<HashMap<Key, u64>>,
    /// Redis, when the relay shares its counts with other processes.
    shared: Option<Arc<Shared>>,
}

/// Tokens reserved in some budgets' windows, settled when dropped (see [`Reservation::settle`]).
#[derive(Debug)]
pub struct Reservation {
    budgets: Arc<Budgets>,
    keys: Vec<Key>,
    reserved: u64,
    /// Of it, the tokens granted to the reply (the request's `max_tokens` from now on).
    reply: u64,
    /// What it finally cost, once known.
    actual: Option<u64>,
    /// Whether it was counted in Redis (or in this process).
    shared: bool,
}

impl Budgets {
    /// No tokens spent yet; counted in `shared` (Redis) when given and answering.
    pub fn new(limits: BudgetLimits, shared: Option<Arc<Shared>>) -> Self {
        Budgets {
            limits,
            counts: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// Reserves room for a request from `client` at `now` in every budget: its `prompt` and up to
    /// `reply` tokens of answer, fewer when a budget has less room left (but at least
    /// [`LEAST_REPLY`]); or says which budget has too little room (the one with the least). In
    /// Redis when the relay shares its counts and Redis answers; in this process otherwise.
    pub async fn reserve(
        self: &Arc<Self>,
        client: IpAddr,
        prompt: u64,
        reply: u64,
        now: SystemTime,
    ) -> Result<Reservation, Exhausted> {
        let seconds = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let limits = self.limits;
        let budgets: Vec<(Key, u64)> = [
            (Scope::Client(client), Span::Day, limits.client_per_day),
            (
                Scope::Client(client),
                Span::Minute,
                limits.client_per_minute,
            ),
            (Scope::All, Span::Day, limits.all_per_day),
            (Scope::All, Span::Minute, limits.all_per_minute),
        ]
        .into_iter()
        .filter_map(|(scope, span, limit)| Some(((scope, span, seconds / span.seconds()), limit?)))
        .collect();
        let exhausted = |(scope, span, window): Key| Exhausted {
            own: matches!(scope, Scope::Client(_)),
            daily: span == Span::Day,
            retry_after: (window + 1) * span.seconds() - seconds,
        };
        let least = prompt + LEAST_REPLY.min(reply);
        let most = prompt + reply;
        let reservation = |keys: Vec<Key>, amount: u64, shared: bool| Reservation {
            budgets: self.clone(),
            keys,
            reserved: amount,
            reply: amount - prompt,
            actual: None,
            shared,
        };
        if let Some(shared) = &self.shared {
            let counts: Vec<Count> = budgets
                .iter()
                .map(|&(key, limit)| Count {
                    key: shared_key(key),
                    limit,
                    // A minute past the window's end, so that a late settlement still finds it.
                    ttl: exhausted(key).retry_after + 60,
                })
                .collect();
            match shared.reserve(&counts, least, most).await {
                Ok(Ok(amount)) => {
                    let keys = budgets.iter().map(|(key, _)| *key).collect();
                    return Ok(reservation(keys, amount, true));
                }
                Ok(Err(index)) => return Err(exhausted(budgets[index].0)),
                Err(()) => {}
            }
        }
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.len() >= MAX_ENTRIES {
            let minute = seconds / 60;
            let day = seconds / 86_400;
            counts.retain(|(_, span, window), _| match span {
                Span::Minute => *window >= minute,
                Span::Day => *window >= day,
            });
        }
        // The room in the tightest budget decides how much is granted.
        let mut amount = most;
        for &(key, limit) in &budgets {
            let room = limit.saturating_sub(counts.get(&key).copied().unwrap_or(0));
            if room < least {
                return Err(exhausted(key));
            }
            amount = amount.min(room);
        }
        let mut keys = Vec::with_capacity(budgets.len());
        for (key, _) in budgets {
            let room = counts.len() < MAX_ENTRIES || counts.contains_key(&key);
            if room || key.0 == Scope::All {
                keys.push(key);
            }
        }
        for key in &keys {
            *counts.entry(*key).or_insert(0) += amount;
        }
        Ok(reservation(keys, amount, false))
    }

    /// Tokens counted in `client`'s budget for the window `now` falls in (for tests and the
    /// health endpoint).
    pub fn used_by(&self, client: Option<IpAddr>, daily: bool, now: SystemTime) -> u64 {
        let seconds = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let span = if daily { Span::Day } else { Span::Minute };
        let scope = client.map_or(Scope::All, Scope::Client);
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts
            .get(&(scope, span, seconds / span.seconds()))
            .copied()
            .unwrap_or(0)
    }
}

impl Reservation {
    /// Records what the reply finally cost; the difference from the reservation is given back
    /// (or added) when the reservation is dropped.
    pub fn settle(&mut self, tokens: u64) {
        self.actual = Some(tokens);
    }

    /// What was reserved.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The tokens granted to the reply: the request's `max_tokens`, lowered to what the budgets
    /// have room for.
    pub fn reply_tokens(&self) -> u64 {
        self.reply
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let Some(actual) = self.actual else {
            return;
        };
        if self.shared {
            let (Some(shared), Ok(runtime)) = (
                self.budgets.shared.clone(),
                tokio::runtime::Handle::try_current(),
            ) else {
                return;
            };
            let keys: Vec<String> = self.keys.iter().map(|key| shared_key(*key)).collect();
            let delta = i64::try_from(actual).unwrap_or(i64::MAX)
                - i64::try_from(self.reserved).unwrap_or(i64::MAX);
            runtime.spawn(async move { shared.adjust(&keys, delta).await });
            return;
        }
        let mut counts = self
            .budgets
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for key in &self.keys {
            if let Some(count) = counts.get_mut(key) {
                *count = count.saturating_sub(self.reserved).saturating_add(actual);
            }
        }
    }
}

/// A budget's key in Redis.
fn shared_key((scope, span, window): Key) -> String {
    let span = match span {
        Span::Minute => "minute",
        Span::Day => "day",
    };
    match scope {
        Scope::Client(client) => format!("chat-relay:tokens:{client}:{span}:{window}"),
        Scope::All => format!("chat-relay:tokens:all:{span}:{window}"),
    }
}

/// The most bytes of a whole (not streamed) answer kept to read its `usage` from.
const MAX_WHOLE_ANSWER: usize = 4 * 1024 * 1024;

/// Watches a reply go by, to settle its reservation when it ends (or the browser goes away) to
/// what it cost: the upstream's `usage`, or else the prompt's estimate and about a token per four
/// characters of the reply so far.
#[derive(Debug)]
pub struct Meter {
    reservation: Option<Reservation>,
    metrics: Arc<Metrics>,
    prompt: u64,
    /// Streamed: events are read as they pass. Whole: the body is kept (bounded) and read at
    /// the end.
    decoder: Option<StreamDecoder>,
    whole: Vec<u8>,
    chars: u64,
    /// What the upstream reported: the prompt's tokens and the reply's.
    usage: Option<(u64, u64)>,
}

impl Meter {
    /// A meter for a reply to a request whose prompt is about `prompt` tokens, settling
    /// `reservation` (when budgets are set) and counting the tokens in `metrics`.
    pub fn new(
        reservation: Option<Reservation>,
        metrics: Arc<Metrics>,
        prompt: u64,
        streamed: bool,
    ) -> Self {
        Meter {
            reservation,
            metrics,
            prompt,
            decoder: streamed.then(StreamDecoder::new),
            whole: Vec::new(),
            chars: 0,
            usage: None,
        }
    }

    /// Settles the reservation to nothing: no answer was passed on.
    pub fn spent_nothing(mut self) {
        self.usage = Some((0, 0));
    }

    /// A piece of the reply's body, as it passes.
    pub fn feed(&mut self, bytes: &[u8]) {
        match &mut self.decoder {
            Some(decoder) => {
                for event in decoder.push(bytes) {
                    self.count(event);
                }
            }
            None => {
                let room = MAX_WHOLE_ANSWER.saturating_sub(self.whole.len());
                self.whole
                    .extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        }
    }

    fn count(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Content(text) | StreamEvent::Reasoning(text) => {
                self.chars += text.len() as u64;
            }
            StreamEvent::ToolCall(delta) => {
                if let Some(function) = delta.function {
                    self.chars += function.name.map_or(0, |name| name.len() as u64)
                        + function
                            .arguments
                            .map_or(0, |arguments| arguments.len() as u64);
                }
            }
            StreamEvent::Usage(usage) => {
                let prompt = u64::from(usage.prompt_tokens);
                let completion = u64::from(usage.completion_tokens)
                    .max(u64::from(usage.total_tokens).saturating_sub(prompt));
                self.usage = Some((prompt, completion));
            }
            _ => {}
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if self.decoder.is_none() && self.usage.is_none() {
            let whole = std::mem::take(&mut self.whole);
            for event in StreamEvent::from_body(&String::from_utf8_lossy(&whole)) {
                self.count(event);
            }
        }
        let (prompt, completion) = self.usage.unwrap_or((self.prompt, self.chars.div_ceil(4)));
        self.metrics.tokens(prompt, completion);
        if let Some(reservation) = &mut self.reservation {
            reservation.settle(prompt + completion);
        }
    }
}

/// About how many tokens `request`'s prompt is: four characters of text a token (its messages'
/// text, its tools' definitions), and `IMAGE_TOKENS` an image.
pub fn estimate_prompt(request: &ChatRequest) -> u64 {
    // Characters of text and images, of one message's content.
    let content = |content: &Content| match content {
        Content::Text(text) => (text.len(), 0),
        Content::Parts(parts) => parts
            .iter()
            .fold((0, 0), |(chars, images), part| match part {
                ContentPart::Text { text } => (chars + text.len(), images),
                _ => (chars, images + 1),
            }),
    };
    let (mut chars, mut images) = (0usize, 0u64);
    for message in &request.messages {
        let (text, pictures) = match message {
            Message::System { content: text, .. }
            | Message::User { content: text, .. }
            | Message::Tool { content: text, .. } => content(text),
            Message::Assistant {
                content: text,
                tool_calls,
                ..
            } => {
                let calls: usize = tool_calls
                    .iter()
                    .map(|call| call.function.name.len() + call.function.arguments.len())
                    .sum();
                let (text, pictures) = text.as_ref().map_or((0, 0), content);
                (text + calls, pictures)
            }
        };
        chars += text;
        images += pictures;
    }
    for tool in &request.tools {
        chars += serde_json::to_string(&tool.function).map_or(0, |json| json.len());
    }
    (chars as u64).div_ceil(4) + images * IMAGE_TOKENS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[tokio::test]
    async fn a_reservation_that_does_not_fit_is_refused_naming_the_budget_and_its_renewal() {
        let budgets = Arc::new(Budgets::new(
            BudgetLimits {
                client_per_minute: Some(100),
                all_per_day: Some(250),
                ..BudgetLimits::default()
            },
            None,
        ));
        let start = 86_400 * 1_000 + 30;
        let first = budgets
            .reserve(ip("203.0.113.1"), 80, 0, at(start))
            .await
            .expect("fits");
        let refused = budgets
            .reserve(ip("203.0.113.1"), 30, 0, at(start + 5))
            .await
            .expect_err("over the client's minute");
        assert_eq!(
            refused,
            Exhausted {
                own: true,
                daily: false,
                retry_after: 25
            }
        );
        assert!(refused.message().contains("this minute") && refused.message().contains("25 s"));
        // Another client has its own minute, but everyone's day is shared.
        let _second = budgets
            .reserve(ip("203.0.113.2"), 100, 0, at(start + 5))
            .await
            .expect("fits");
        let all = budgets
            .reserve(ip("203.0.113.3"), 80, 0, at(start + 5))
            .await
            .expect_err("over everyone's day");
        assert!(!all.own && all.daily && all.retry_after == 86_400 - 35);
        assert!(all.message().contains("today") && all.message().contains("24 h"));
        // The next minute the client's budget is new.
        drop(first);
        assert!(budgets
            .reserve(ip("203.0.113.1"), 30, 0, at(start + 31))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_reply_gets_what_room_the_budgets_have_left_and_at_least_enough_to_say_something() {
        let budgets = Arc::new(Budgets::new(
            BudgetLimits {
                client_per_minute: Some(1_000),
                ..BudgetLimits::default()
            },
            None,
        ));
        let client = ip("203.0.113.7");
        let first = budgets
            .reserve(client, 100, 4_096, at(60))
            .await
            .expect("the budget is smaller than max_tokens, and still the request goes");
        assert_eq!((first.reserved(), first.reply_tokens()), (1_000, 900));
        drop(first);
        let refused = budgets
            .reserve(client, 10, 4_096, at(61))
            .await
            .expect_err("no room for even a short reply");
        assert!(refused.own && !refused.daily);
        let _ = budgets
            .reserve(ip("203.0.113.8"), 10, 50, at(61))
            .await
            .expect("another client's own budget");
    }

    #[tokio::test]
    async fn settling_gives_back_what_the_reply_did_not_use() {
        let budgets = Arc::new(Budgets::new(
            BudgetLimits {
                client_per_minute: Some(1_000),
                ..BudgetLimits::default()
            },
            None,
        ));
        let client = ip("2001:db8::1");
        let mut reservation = budgets.reserve(client, 900, 0, at(60)).await.expect("fits");
        assert_eq!(budgets.used_by(Some(client), false, at(60)), 900);
        reservation.settle(120);
        drop(reservation);
        assert_eq!(budgets.used_by(Some(client), false, at(61)), 120);
        // Not settled (the reply's cost never became known): the reservation stands.
        drop(budgets.reserve(client, 500, 0, at(62)).await.expect("fits"));
        assert_eq!(budgets.used_by(Some(client), false, at(62)), 620);
    }

    #[test]
    fn the_prompt_is_estimated_from_its_text_and_images() {
        let request: ChatRequest = serde_json::from_value(serde_json::json!({
            "model": "m",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "abcdefgh"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
                ]},
                {"role": "assistant", "content": "1234"}
            ]
        }))
        .expect("a request");
        assert_eq!(estimate_prompt(&request), 3 + IMAGE_TOKENS);
    }
}
