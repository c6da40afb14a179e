//! Live events: server-sent events of new sales, trades and order-book changes (listings and
//! offers placed or cancelled) as the indexer writes them.
//!
//! Each stream polls the database (three indexed keyset queries per poll, at most
//! [`ROWS_PER_POLL`] rows each), so it works the same over SQLite and PostgreSQL and across
//! many API instances. Streams are bounded: at most `max_event_streams` at once and at most
//! `max_event_streams_per_client` per client key (503 past either), and each lasts at most
//! `max_seconds`; so one client cannot hold every slot.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use indexer::read::{Position, Sale, Trade};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// Most rows read per table per poll.
pub const ROWS_PER_POLL: u32 = 200;
/// Longest a stream may be asked to last.
pub const MAX_STREAM_SECS: u64 = 3600;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Close the stream after this many seconds, 1 to 3600 (default 300); reconnect to go on.
    pub max_seconds: Option<u64>,
}

/// The payload of a `sale` event (an access grant) — `data` is JSON of this.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SaleEvent {
    pub content_id: String,
    pub sale: Sale,
}

/// The payload of a `trade` event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TradeEvent {
    pub content_id: String,
    pub trade: Trade,
}

/// Open streams per client key; an entry lives exactly as long as its client has a stream.
#[derive(Default, Clone)]
pub(crate) struct PerClient(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One client's stream slot, given back when the stream ends.
pub(crate) struct ClientSlot {
    table: PerClient,
    key: IpAddr,
}

impl PerClient {
    fn take(&self, key: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut t = self.0.lock().expect("stream table lock");
        let n = t.entry(key).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            key,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut t = self.table.0.lock().expect("stream table lock");
        if let Some(n) = t.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.key);
            }
        }
    }
}

struct StreamState {
    app: AppState,
    sales: Position,
    trades: Position,
    orders: Position,
    pending: VecDeque<Event>,
    ends: Instant,
    poll: Duration,
    first: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
    _slot: ClientSlot,
}

/// A stream of `sale`, `trade` and `order` events from the moment of connection.
#[utoipa::path(get, path = "/v1/events", tag = "market", params(EventsQuery),
    responses((status = 200, description = "text/event-stream of `sale` (SaleEvent JSON), `trade` (TradeEvent JSON) and `order` (OrderChange JSON) events",
        content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(q) = query?;
    let secs = q.max_seconds.unwrap_or(300);
    if !(1..=MAX_STREAM_SECS).contains(&secs) {
        return Err(ApiError::bad("max_seconds is 1 to 3600"));
    }
    let key = crate::limits::client_key(peer.ip(), &headers, &state.config().trusted_proxies);
    let slot = state
        .inner
        .streams_per_client
        .take(key, state.config().max_event_streams_per_client)
        .ok_or(ApiError::Unavailable(
            "live events (too many streams from this client)",
        ))?;
    let permit = state
        .inner
        .event_streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::Unavailable("live events (too many streams)"))?;
    let head = state
        .config()
        .db
        .head()
        .await?
        .map(|b| b.number)
        .unwrap_or(0);
    let head = i64::try_from(head).unwrap_or(i64::MAX);
    let st = StreamState {
        poll: state.config().events_poll,
        app: state,
        sales: Position {
            block: head,
            log: i64::MAX,
        },
        trades: Position {
            block: head,
            log: i64::MAX,
        },
        orders: Position {
            block: head,
            log: i64::MAX,
        },
        pending: VecDeque::new(),
        ends: Instant::now() + Duration::from_secs(secs),
        first: true,
        _permit: permit,
        _slot: slot,
    };
    let events = futures::stream::unfold(st, |mut st| async move {
        loop {
            if let Some(ev) = st.pending.pop_front() {
                return Some((Ok(ev), st));
            }
            if Instant::now() >= st.ends {
                return None;
            }
            if !st.first {
                tokio::time::sleep(
                    st.poll
                        .min(st.ends.saturating_duration_since(Instant::now())),
                )
                .await;
            }
            st.first = false;
            if let Err(e) = poll(&mut st).await {
                // The database went away: end the stream; the client reconnects.
                tracing::warn!(error = %e, "live events");
                return None;
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn poll(st: &mut StreamState) -> Result<(), indexer::IndexerError> {
    let db = &st.app.config().db;
    for row in db.sales_after(st.sales, ROWS_PER_POLL).await? {
        st.sales = position(row.sale.block_number, row.log_index);
        let payload = SaleEvent {
            content_id: row.content_id,
            sale: row.sale,
        };
        queue(&mut st.pending, "sale", &payload);
    }
    for row in db.trades_after(st.trades, ROWS_PER_POLL).await? {
        st.trades = position(row.trade.block_number, row.trade.log_index);
        let payload = TradeEvent {
            content_id: row.content_id,
            trade: row.trade,
        };
        queue(&mut st.pending, "trade", &payload);
    }
    for change in db.order_changes_after(st.orders, ROWS_PER_POLL).await? {
        st.orders = position(change.block_number, change.log_index);
        queue(&mut st.pending, "order", &change);
    }
    Ok(())
}

/// Queues an event named `name` with `payload` as its JSON data (one that does not serialise
/// is dropped; the API's payload types always do).
fn queue(pending: &mut VecDeque<Event>, name: &str, payload: &impl Serialize) {
    if let Ok(ev) = Event::default().event(name).json_data(payload) {
        pending.push_back(ev);
    }
}

/// Where a stream resumes after the row at `block`, `log`.
fn position(block: u64, log: u64) -> Position {
    Position {
        block: i64::try_from(block).unwrap_or(i64::MAX),
        log: i64::try_from(log).unwrap_or(i64::MAX),
    }
}
