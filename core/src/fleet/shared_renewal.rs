//! The fleet's renewal: the state machine a driver steps after `Authorize::Renew`.

use std::time::{Duration, Instant};

use super::store::{
    AsyncStore, BlockingStore, Fence, SharedValue, StoreError, StoreErrorKind, StoreOp, StoreReply,
    TokenId,
};
use super::{Fleet, StoreKey, unix_ms};
use crate::driver::RunError;
use crate::error::Misuse;
use crate::token_manager::Renewal;
use crate::{Error, Now, TokenResponse};

/// What the driver does next for a [`SharedRenewal`].
///
/// Exhaustive on purpose, like [`Step`](crate::Step): a driver matches all four.
#[must_use = "a shared renewal must be stepped to Done"]
#[allow(clippy::exhaustive_enums, clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SharedStep {
    /// Perform this operation on the store, then hand the reply (or the error) to
    /// [`SharedRenewal::handle_store`].
    Store(StoreOp),
    /// Run this renewal flow (the token request) as without a store, then hand its result to
    /// [`SharedRenewal::handle_renewed`].
    Renew(Renewal),
    /// Another process renews: sleep this long, then call [`next`](SharedRenewal::next) again.
    Wait(Duration),
    /// The end: hand this to [`Authorizer::finish`](crate::authorizer::Authorizer::finish).
    Done(Result<TokenResponse, RunError>),
}

/// One renewal of a fleet's shared token: take it from the store, or take the lease, renew and
/// publish, or wait for the process that does; renew in-process when the store fails. See the
/// [module documentation](super) for the diagram.
///
/// Made by [`Authorizer::shared_renewal`](crate::authorizer::Authorizer::shared_renewal).
/// Call order: [`next`](Self::next); after `Store` call [`handle_store`](Self::handle_store),
/// after `Renew` call [`handle_renewed`](Self::handle_renewed), after `Wait` sleep; until `Done`.
/// Calling `next` again before handing in a reply repeats the same step.
///
/// ```
/// use grantline::{Client, Now, grant::TokenRequest, authorizer::{Attempt, Authorize, Authorizer}};
/// use grantline::fleet::SharedStep;
/// use grantline::token_manager::TokenManager;
///
/// let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
/// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?);
/// let Authorize::Renew(renewal, _ticket) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
/// // No fleet: the plain renewal.
/// let mut shared = authorizer.shared_renewal(renewal, Now::system());
/// assert!(matches!(shared.next(Now::system()), SharedStep::Renew(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SharedRenewal {
    plan: Option<Plan>,
    renewal: Option<Renewal>,
    state: State,
}

#[derive(Debug)]
struct Plan {
    fleet: Fleet,
    key: StoreKey,
    leeway: Duration,
    unless: Option<TokenId>,
    /// When waiting for other processes ends (set at the first `Held`).
    give_up_at: Option<Instant>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum State {
    /// Ask the store (again).
    Acquire,
    /// Sleep until then, then ask again.
    Waiting(Instant),
    /// Renew: under this lease, or in-process (`None`: nothing is published).
    Renew(Option<Fence>),
    /// The renewal runs.
    Renewing(Option<Fence>),
    /// Publish this token under this lease.
    Publish(TokenResponse, Fence),
    /// Give up this lease, then end with this error.
    Release(Fence, RunError),
    /// The end, not yet handed out.
    Done(Result<TokenResponse, RunError>),
    /// Handed out.
    Finished,
}

impl SharedRenewal {
    /// The renewal of a fleet: `None` for a process without one (the plain renewal).
    pub(crate) fn new(
        renewal: Renewal,
        sharing: Option<(&Fleet, &StoreKey)>,
        leeway: Duration,
        unless: Option<TokenId>,
    ) -> Self {
        let plan = sharing.map(|(fleet, key)| Plan {
            fleet: fleet.clone(),
            key: key.clone(),
            leeway,
            unless,
            give_up_at: None,
        });
        let state = if plan.is_some() {
            State::Acquire
        } else {
            State::Renew(None)
        };
        Self {
            plan,
            renewal: Some(renewal),
            state,
        }
    }

    /// What to do next at `now`.
    ///
    /// ```
    /// # use grantline::{Client, Now, grant::TokenRequest, authorizer::{Attempt, Authorize, Authorizer}};
    /// # use grantline::{fleet::{Fleet, SharedStep, StoreOp}, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
    ///     .share(Fleet::new())?;
    /// let Authorize::Renew(renewal, _) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let mut shared = authorizer.shared_renewal(renewal, Now::system());
    /// assert!(matches!(shared.next(Now::system()), SharedStep::Store(StoreOp::Acquire { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next(&mut self, now: Now) -> SharedStep {
        let plan = self.plan.as_ref();
        match (&self.state, plan) {
            (State::Acquire, Some(plan)) => SharedStep::Store(StoreOp::Acquire {
                key: plan.key.clone(),
                now: unix_ms(now.wall()),
                lease: plan.fleet.inner.lease,
                unless: plan.unless.clone(),
            }),
            (State::Waiting(until), _) => {
                let left = until.saturating_duration_since(now.monotonic());
                if left.is_zero() {
                    self.state = State::Acquire;
                    self.next(now)
                } else {
                    SharedStep::Wait(left)
                }
            }
            (State::Renew(fence), _) => {
                let fence = *fence;
                match self.renewal.take() {
                    Some(renewal) => {
                        self.state = State::Renewing(fence);
                        SharedStep::Renew(renewal)
                    }
                    None => self.misuse(),
                }
            }
            (State::Publish(token, fence), Some(plan)) => {
                let value = match serde_json::to_vec(token) {
                    Ok(value) => value,
                    // A token always serializes; should it not, keep it without publishing.
                    Err(_) => {
                        let State::Publish(token, _) =
                            std::mem::replace(&mut self.state, State::Finished)
                        else {
                            unreachable!("matched above")
                        };
                        return SharedStep::Done(Ok(token));
                    }
                };
                let wall = now.wall();
                let expires_at = token.expires_at();
                let renew_at = match expires_at {
                    Some(at) => {
                        let lifetime = at.duration_since(wall).unwrap_or(Duration::ZERO);
                        unix_ms(at).saturating_sub(millis(plan.leeway.min(lifetime / 2)))
                    }
                    None => u64::MAX,
                };
                let ttl = expires_at.map(|at| {
                    at.duration_since(wall)
                        .unwrap_or(Duration::ZERO)
                        .max(Duration::from_millis(1))
                });
                SharedStep::Store(StoreOp::Publish {
                    key: plan.key.clone(),
                    value: SharedValue::new(value),
                    id: TokenId::of(token),
                    renew_at,
                    ttl,
                    fence: *fence,
                })
            }
            (State::Release(fence, _), Some(plan)) => SharedStep::Store(StoreOp::Release {
                key: plan.key.clone(),
                fence: *fence,
            }),
            (State::Done(_), _) => match std::mem::replace(&mut self.state, State::Finished) {
                State::Done(result) => SharedStep::Done(result),
                _ => unreachable!("matched above"),
            },
            // No plan for a store step (cannot happen), a renewal not handed back, or done.
            (
                State::Acquire
                | State::Publish(..)
                | State::Release(..)
                | State::Renewing(_)
                | State::Finished,
                _,
            ) => self.misuse(),
        }
    }

    fn misuse(&mut self) -> SharedStep {
        self.state = State::Finished;
        SharedStep::Done(Err(RunError::Flow(Error::Misuse(Misuse::AlreadyDone))))
    }

    /// Hands in the store's answer to the last [`SharedStep::Store`], at `now`. A failure (or an
    /// answer that does not fit) makes the renewal go on in-process, and is told to the fleet's
    /// [`on_event`](Fleet::on_event) callback once.
    ///
    /// ```
    /// # use grantline::{Client, Now, grant::TokenRequest, authorizer::{Attempt, Authorize, Authorizer}};
    /// # use grantline::{fleet::*, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?)
    ///     .share(Fleet::new())?;
    /// let Authorize::Renew(renewal, _) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let mut shared = authorizer.shared_renewal(renewal, Now::system());
    /// let _acquire = shared.next(Now::system());
    /// shared.handle_store(Err(StoreError::new(StoreErrorKind::Unavailable)), Now::system());
    /// assert!(matches!(shared.next(Now::system()), SharedStep::Renew(_)), "in-process");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_store(&mut self, reply: Result<StoreReply, StoreError>, now: Now) {
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        let state = std::mem::replace(&mut self.state, State::Finished);
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                plan.fleet.store_failed(&error);
                crate::trace::event!(DEBUG, error = %error, "fleet store failed: going on without it");
                self.state = match state {
                    State::Acquire => State::Renew(None),
                    State::Publish(token, _) => State::Done(Ok(token)),
                    State::Release(_, error) => State::Done(Err(error)),
                    other => other,
                };
                return;
            }
        };
        self.state = match (state, reply) {
            (State::Acquire, StoreReply::Fresh(value)) => {
                match serde_json::from_slice::<TokenResponse>(value.secret()) {
                    Ok(token) => {
                        plan.fleet.store_answered();
                        crate::trace::event!(DEBUG, "fleet store: another process's fresh token");
                        State::Done(Ok(token))
                    }
                    Err(_) => {
                        plan.fleet
                            .store_failed(&StoreError::new(StoreErrorKind::Corrupt));
                        crate::trace::event!(
                            DEBUG,
                            "fleet store: the stored token is unreadable: renewing here"
                        );
                        State::Renew(None)
                    }
                }
            }
            (State::Acquire, StoreReply::Acquired(fence)) => {
                plan.fleet.store_answered();
                crate::trace::event!(DEBUG, "fleet store: lease acquired: this process renews");
                State::Renew(Some(fence))
            }
            (State::Acquire, StoreReply::Held) => {
                plan.fleet.store_answered();
                let give_up_at = *plan
                    .give_up_at
                    .get_or_insert_with(|| now.monotonic() + plan.fleet.inner.lease * 2);
                if now.monotonic() >= give_up_at {
                    // Leaders keep failing to publish: renew here rather than wait on.
                    crate::trace::event!(
                        DEBUG,
                        "fleet store: the lease holder published nothing in time: renewing here"
                    );
                    State::Renew(None)
                } else {
                    crate::trace::event!(
                        DEBUG,
                        poll_ms = crate::trace::millis(plan.fleet.inner.poll),
                        "fleet store: another process renews: waiting for its token"
                    );
                    State::Waiting(now.monotonic() + plan.fleet.inner.poll)
                }
            }
            (State::Publish(token, _), reply @ (StoreReply::Published | StoreReply::Refused)) => {
                plan.fleet.store_answered();
                crate::trace::event!(
                    DEBUG,
                    published = matches!(reply, StoreReply::Published),
                    "fleet store: token published (or refused: a newer one is stored)"
                );
                let _ = reply;
                State::Done(Ok(token))
            }
            (State::Release(_, error), StoreReply::Released) => {
                plan.fleet.store_answered();
                crate::trace::event!(DEBUG, "fleet store: lease released after a failed renewal");
                State::Done(Err(error))
            }
            // A reply that does not answer the operation: the store is not one we understand.
            (state, _) => {
                plan.fleet
                    .store_failed(&StoreError::new(StoreErrorKind::Corrupt));
                crate::trace::event!(
                    DEBUG,
                    "fleet store: an answer to another operation: ignored"
                );
                match state {
                    State::Acquire => State::Renew(None),
                    State::Publish(token, _) => State::Done(Ok(token)),
                    State::Release(_, error) => State::Done(Err(error)),
                    other => other,
                }
            }
        };
    }

    /// Hands in the result of the last [`SharedStep::Renew`]: a token is published (under a
    /// lease), an error releases the lease.
    ///
    /// ```
    /// # use grantline::{Client, Now, TokenResponse, TokenType, grant::TokenRequest, authorizer::{Attempt, Authorize, Authorizer}};
    /// # use grantline::{fleet::SharedStep, token_manager::TokenManager};
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?);
    /// let Authorize::Renew(renewal, _) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let mut shared = authorizer.shared_renewal(renewal, Now::system());
    /// let SharedStep::Renew(_flow) = shared.next(Now::system()) else { unreachable!() };
    /// shared.handle_renewed(Ok(TokenResponse::new("at".into(), TokenType::Bearer)), Now::system());
    /// assert!(matches!(shared.next(Now::system()), SharedStep::Done(Ok(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_renewed(&mut self, result: Result<TokenResponse, RunError>, now: Now) {
        let _ = now;
        self.state = match (std::mem::replace(&mut self.state, State::Finished), result) {
            (State::Renewing(Some(fence)), Ok(token)) => State::Publish(token, fence),
            (State::Renewing(Some(fence)), Err(error)) => State::Release(fence, error),
            (State::Renewing(None), result) => State::Done(result),
            (other, _) => other,
        };
    }
}

/// The loop every driver runs over a [`SharedRenewal`], written once: the driver brings its
/// store (or none: every store step then fails as [`StoreErrorKind::Unavailable`] and the renewal
/// runs in this process), its clock, its way of running the token request and its way of
/// sleeping.
impl SharedRenewal {
    /// Steps this renewal to its end on a blocking driver, and returns what to hand to
    /// [`Authorizer::finish`](crate::authorizer::Authorizer::finish).
    ///
    /// ```
    /// # use grantline::{Client, Now, TokenResponse, TokenType, grant::TokenRequest, authorizer::{Attempt, Authorize, Authorizer}};
    /// # use grantline::token_manager::TokenManager;
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?);
    /// let Authorize::Renew(renewal, ticket) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let shared = authorizer.shared_renewal(renewal, Now::system());
    /// let result = shared.run_blocking(
    ///     None,
    ///     Now::system,
    ///     |_renewal| Ok(TokenResponse::new("at".into(), TokenType::Bearer)), // the driver's request
    ///     |_wait| {},                                                        // the driver's sleep
    /// );
    /// authorizer.finish(ticket, result, Now::system());
    /// assert_eq!(authorizer.token().map(|t| t.access_token().secret()), Some("at"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_blocking(
        mut self,
        store: Option<&dyn BlockingStore>,
        now: impl Fn() -> Now,
        mut renew: impl FnMut(Renewal) -> Result<TokenResponse, RunError>,
        mut sleep: impl FnMut(Duration),
    ) -> Result<TokenResponse, RunError> {
        loop {
            match self.next(now()) {
                SharedStep::Store(op) => {
                    let reply =
                        store.map_or_else(|| Err(unavailable()), |store| store.execute(&op));
                    self.handle_store(reply, now());
                }
                SharedStep::Renew(renewal) => {
                    let result = renew(renewal);
                    self.handle_renewed(result, now());
                }
                SharedStep::Wait(wait) => sleep(wait),
                SharedStep::Done(result) => return result,
            }
        }
    }

    /// Steps this renewal to its end on an async driver (any runtime: the driver's `renew` and
    /// `sleep` futures are the only ones awaited, with the store's), and returns what to hand to
    /// [`Authorizer::finish`](crate::authorizer::Authorizer::finish).
    ///
    /// ```
    /// # use grantline::{Client, Now, TokenResponse, TokenType, grant::TokenRequest, authorizer::{Attempt, Authorize, Authorizer}};
    /// # use grantline::token_manager::TokenManager;
    /// # let client = Client::builder("svc").token_endpoint("https://as.example/token").build()?;
    /// let mut authorizer = Authorizer::new(TokenManager::grant(client, TokenRequest::client_credentials())?);
    /// let Authorize::Renew(renewal, ticket) = authorizer.header(&mut Attempt::new(), Now::system())? else { unreachable!() };
    /// let shared = authorizer.shared_renewal(renewal, Now::system());
    /// let run = shared.run_async(
    ///     None,
    ///     Now::system,
    ///     |_renewal| async { Ok(TokenResponse::new("at".into(), TokenType::Bearer)) },
    ///     |_wait| async {},
    /// );
    /// # let result = futures_lite_block_on(run);
    /// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// authorizer.finish(ticket, result, Now::system());
    /// assert!(authorizer.token().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn run_async<R, W>(
        mut self,
        store: Option<&dyn AsyncStore>,
        now: impl Fn() -> Now,
        mut renew: impl FnMut(Renewal) -> R,
        mut sleep: impl FnMut(Duration) -> W,
    ) -> Result<TokenResponse, RunError>
    where
        R: Future<Output = Result<TokenResponse, RunError>>,
        W: Future<Output = ()>,
    {
        loop {
            match self.next(now()) {
                SharedStep::Store(op) => {
                    let reply = match store {
                        Some(store) => store.execute(&op).await,
                        None => Err(unavailable()),
                    };
                    self.handle_store(reply, now());
                }
                SharedStep::Renew(renewal) => {
                    let result = renew(renewal).await;
                    self.handle_renewed(result, now());
                }
                SharedStep::Wait(wait) => sleep(wait).await,
                SharedStep::Done(result) => return result,
            }
        }
    }
}

/// What a driver without a store answers every store step.
fn unavailable() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
