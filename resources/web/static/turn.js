// One turn of the conversation: a request that streams an answer (a new message, or answering a
// message again), as a pure reducer plus the small runner that feeds it.
//
// applyEvent(state, event) -> {state, actions} holds all the bookkeeping of the turn: which
// user message it answers, the items it streams and their content, whether the answer is done,
// and how the turn ended (done, stopped, failed, refused). It touches neither the DOM nor the
// network; the page carries out the actions it returns (chat-app.js, TURN_ACTIONS):
//
//   {type: "addPending", text, attachments}  show the user's message (and its files) at once,
//                                         marked pending
//   {type: "confirmPending", item}        the server has it: this is its item
//   {type: "settlePending"}               it stays as it is, no longer marked pending
//   {type: "withdrawPending", text, attachments}  the request was refused: take it away, give
//                                         the text and the files back
//   {type: "removeAfter", itemId}         drop what follows a message (it is answered again)
//   {type: "render", item, streaming?, batch?}  show an item, new or changed; `streaming` sets
//                                         or clears its streaming mark (absent: leave it);
//                                         `batch`: a streamed change, may be drawn a little later
//   {type: "removeItem", itemId}
//   {type: "note", itemId, text}          a short note under an item ("Stopped.")
//   {type: "threadCreated", thread} / {type: "threadUpdated", thread}
//   {type: "notice", level, title, message}  a passing word from the server ("a tool server is
//                                         unavailable"): shown in the thread, never stored
//   {type: "showError", message, retry}   retry: the turn to run for Retry (a spec), or null
//
// Events are the server's stream events plus the runner's own three, which say how the stream
// itself ended: {type: "turn.ended"} (it closed), {type: "turn.stopped"} (the user stopped it),
// {type: "turn.failed", message, allowRetry} (refused before any event, or the connection lost).
// New kinds of items and updates slot in as entries of ITEM_HANDLERS and ITEM_UPDATES.

import { userInput } from "./chatkit-client.js";
import { errorText, textOf } from "./format.js";

const ENDED = "turn.ended";
const STOPPED = "turn.stopped";
const FAILED = "turn.failed";

const CUT_OFF = "The answer was cut off before it was complete.";

// What to run. A spec is data, so a Retry can hold one and the tests can compare them.

/** A turn that sends `text` as a new message: into `threadId`, or a new chat when it is null.
 * `attachments`: the uploaded files it carries (attachment objects; the request names their ids). */
export function sendMessage(threadId, text, attachments = []) {
  const input = userInput(
    text,
    attachments.map((attachment) => attachment.id),
  );
  const request = threadId
    ? { type: "threads.add_user_message", params: { thread_id: threadId, input } }
    : { type: "threads.create", params: { input } };
  return { request, threadId, text, attachments, userItemId: null };
}

/** A turn that answers the user's message `userItemId` again; the server drops what followed. */
export function answerAgain(threadId, userItemId) {
  const request = {
    type: "threads.retry_after_item",
    params: { thread_id: threadId, item_id: userItemId },
  };
  return { request, threadId, text: null, userItemId };
}

/** A turn that sends a widget's action (a button of the card `itemId`): it answers a stream,
 * as a message does, with the card replaced and whatever the server does next. */
export function sendAction(threadId, itemId, action) {
  const request = {
    type: "threads.custom_action",
    params: { thread_id: threadId, item_id: itemId, action },
  };
  return { request, threadId, text: null, userItemId: null };
}

/** The state of a turn about to run, and what the page does first. */
export function beginTurn(spec) {
  const state = {
    spec,
    threadId: spec.threadId,
    userItemId: spec.userItemId, // answering again knows it; a new message learns it
    waitingForUserItem: spec.text !== null, // the message is shown before the server has it
    answerId: null, // the assistant message of this turn
    answerDone: false,
    items: {}, // id -> item as far as it has streamed, for the items of this turn
    events: 0, // server events seen: none means the request itself was refused
    outcome: "streaming", // then "done", "stopped", "failed" or "refused"
  };
  let actions = [];
  if (spec.text !== null) {
    actions = [{ type: "addPending", text: spec.text, attachments: spec.attachments ?? [] }];
  }
  else if (spec.userItemId) actions = [{ type: "removeAfter", itemId: spec.userItemId }];
  return { state, actions };
}

/** The turn after `event`, and what the page must do about it. Never changes `state`. */
export function applyEvent(state, event) {
  const ending = STREAM_ENDINGS[event.type];
  if (ending) return ending(state, event);
  const counted = { ...state, events: state.events + 1 };
  const handle = EVENT_HANDLERS[event.type];
  return handle ? handle(counted, event) : unchanged(counted);
}

// Server events, by type. Anything else (stream_options, progress updates) only counts as a
// sign that the request was accepted.

const EVENT_HANDLERS = {
  "thread.created": (state, { thread }) => ({
    state: { ...state, threadId: thread.id },
    actions: [{ type: "threadCreated", thread }],
  }),
  "thread.updated": (state, { thread }) => ({
    state,
    actions: [{ type: "threadUpdated", thread }],
  }),
  "thread.item.added": (state, { item }) => receiveItem(state, item, false),
  "thread.item.done": (state, { item }) => receiveItem(state, item, true),
  "thread.item.replaced": (state, { item }) => receiveItem(state, item, true),
  "thread.item.updated": (state, { item_id: itemId, update }) => updateItem(state, itemId, update),
  "thread.item.removed": (state, { item_id: itemId }) => ({
    state: withoutItem(state, itemId),
    actions: [{ type: "removeItem", itemId }],
  }),
  notice: (state, { level = "info", title = null, message = "" }) => ({
    state,
    actions: [{ type: "notice", level, title, message }],
  }),
  error: (state, event) =>
    fail(state, event.message || errorText(event.code), Boolean(event.allow_retry)),
};

// The runner's events: how the stream ended. Once a turn has an outcome, they change nothing
// (a connection lost after the server's error keeps the server's message, which says more).

const STREAM_ENDINGS = {
  [ENDED]: (state) => {
    if (state.outcome !== "streaming") return unchanged(state);
    if (openAnswer(state)) return fail(state, CUT_OFF, true);
    return { state: { ...settled(state), outcome: "done" }, actions: settleActions(state) };
  },
  [STOPPED]: (state) => {
    if (state.outcome !== "streaming") return unchanged(state);
    const actions = [];
    const answer = openAnswer(state);
    if (answer) {
      const text = hasText(answer) ? "Stopped — the answer so far is kept." : "Stopped.";
      actions.push(show(answer, { streaming: false }), { type: "note", itemId: answer.id, text });
    }
    actions.push(...settleActions(state));
    return { state: { ...settled(state), outcome: "stopped" }, actions };
  },
  [FAILED]: (state, { message, allowRetry }) => {
    if (state.outcome !== "streaming") return unchanged(state);
    if (state.events > 0) return fail(state, message, allowRetry);
    // Refused before the stream started: nothing happened on the server, so Retry sends the
    // same request again, and the message goes back into the composer meanwhile.
    const actions = state.waitingForUserItem
      ? [{ type: "withdrawPending", text: state.spec.text, attachments: state.spec.attachments ?? [] }]
      : [];
    actions.push({ type: "showError", message, retry: allowRetry ? state.spec : null });
    return { state: { ...settled(state), outcome: "refused" }, actions };
  },
};

// Items, by type: what receiving one (added, done or replaced) means for the turn.

const ITEM_HANDLERS = {
  user_message(state, item) {
    if (state.waitingForUserItem) {
      return {
        state: { ...state, userItemId: item.id, waitingForUserItem: false },
        actions: [{ type: "confirmPending", item }],
      };
    }
    return { state: { ...state, userItemId: item.id }, actions: [show(item)] };
  },
  assistant_message(state, item, done) {
    return {
      state: { ...state, answerId: item.id, answerDone: done },
      actions: [show(item, { streaming: !done })],
    };
  },
  // A workflow (tool calls, or the model's reasoning) runs until it has a summary: the server
  // closes it with one ("Used 2 tools", a duration), whether by done or, when a paused run goes
  // on in a later request, by replacing it whole.
  workflow(state, item) {
    return { state, actions: [show(item, { streaming: isOpenWorkflow(item) })] };
  },
};

function isOpenWorkflow(item) {
  return item?.type === "workflow" && !item.workflow?.summary;
}

function receiveItem(state, item, done) {
  const known = state.items[item.id];
  // An item announced again without content keeps what has streamed into it so far.
  const current = known && !done && isEmpty(item) ? known : item;
  const next = { ...state, items: { ...state.items, [item.id]: current } };
  const handle = ITEM_HANDLERS[item.type] ?? showItem;
  return handle(next, current, done);
}

function isEmpty(item) {
  return item.type === "workflow" ? !item.workflow?.tasks?.length : !item.content?.length;
}

// Updates of an item's content, by update type: (item, update) -> the changed item, or null
// when the update does not apply to that item.

const ITEM_UPDATES = {
  "assistant_message.content_part.added": setPart,
  "assistant_message.content_part.text_delta": (item, { content_index: index = 0, delta }) => {
    const part = item.content?.[index] ?? { type: "output_text", text: "" };
    return withPart(item, index, { ...part, text: (part.text ?? "") + delta });
  },
  "assistant_message.content_part.done": setPart,
  // Tool calls and thoughts: a task is added, then sent whole each time it changes.
  "workflow.task.added": setTask,
  "workflow.task.updated": setTask,
};

function setTask(item, { task_index: index, task }) {
  if (item.type !== "workflow" || !task || !Number.isInteger(index) || index < 0) return null;
  const tasks = [...(item.workflow?.tasks ?? [])];
  tasks[index] = task;
  return { ...item, workflow: { ...item.workflow, tasks } };
}

function setPart(item, { content_index: index = 0, content }) {
  return content ? withPart(item, index, content) : item;
}

function withPart(item, index, part) {
  if (item.type !== "assistant_message") return null;
  const content = [...(item.content ?? [])];
  content[index] = part;
  return { ...item, content };
}

function updateItem(state, itemId, update) {
  const item = state.items[itemId];
  const change = ITEM_UPDATES[update?.type];
  if (!item || !change) return unchanged(state);
  const next = change(item, update);
  if (!next) return unchanged(state);
  return {
    state: { ...state, items: { ...state.items, [itemId]: next } },
    actions: [show(next, { batch: true })],
  };
}

// Ending a turn

/** Failed after the stream started: keep what arrived, say why, offer to answer again. */
function fail(state, message, allowRetry) {
  let next = { ...settled(state), outcome: "failed" };
  const actions = [];
  const answer = openAnswer(state);
  if (answer && hasText(answer)) {
    actions.push(show(answer, { streaming: false }));
  } else if (answer) {
    next = withoutItem(next, answer.id); // an empty bubble says nothing
    actions.push({ type: "removeItem", itemId: answer.id });
  }
  actions.push(...settleActions(state));
  const canRetry = allowRetry && state.threadId && state.userItemId;
  const retry = canRetry ? answerAgain(state.threadId, state.userItemId) : null;
  actions.push({ type: "showError", message, retry });
  return { state: next, actions };
}

/** The answer while it is still streaming, or null. */
function openAnswer(state) {
  if (!state.answerId || state.answerDone) return null;
  return state.items[state.answerId] ?? null;
}

function settled(state) {
  return { ...state, waitingForUserItem: false };
}

/** What the end of the stream settles, however it ended: a message still pending, and any
 * workflow left open (it no longer runs, so no spinner stays behind). */
function settleActions(state) {
  const actions = state.waitingForUserItem ? [{ type: "settlePending" }] : [];
  for (const item of Object.values(state.items)) {
    if (isOpenWorkflow(item)) actions.push(show(item, { streaming: false }));
  }
  return actions;
}

function hasText(item) {
  return textOf(item).trim() !== "";
}

/** A render action; `how` may hold `streaming` and `batch` (see the list at the top). */
function show(item, how = {}) {
  return { type: "render", item, ...how };
}

function showItem(state, item) {
  return { state, actions: [show(item)] };
}

function withoutItem(state, itemId) {
  const { [itemId]: _removed, ...items } = state.items;
  return { ...state, items, answerId: state.answerId === itemId ? null : state.answerId };
}

function unchanged(state) {
  return { state, actions: [] };
}

// The runner: streams the request and feeds every event through the reducer.

export class Turn {
  #controller = new AbortController();
  #stopped = false;

  /** `perform(action)` carries out each action the reducer returns. */
  constructor(spec, perform) {
    this.spec = spec;
    this.perform = perform;
    this.state = null;
  }

  /** Runs the turn; resolves when it is over, however the stream ended. */
  async run(client) {
    const { state, actions } = beginTurn(this.spec);
    this.state = state;
    for (const action of actions) this.perform(action);
    const { type, params } = this.spec.request;
    try {
      await client.stream(type, params, {
        signal: this.#controller.signal,
        onEvent: (event) => this.#dispatch(event),
      });
      this.#dispatch({ type: ENDED });
    } catch (error) {
      if (error.name === "AbortError" || this.#stopped) {
        this.#dispatch({ type: STOPPED });
      } else {
        const allowRetry = Boolean(error.allowRetry); // a ChatKitError says; anything else: no
        this.#dispatch({ type: FAILED, message: error.message, allowRetry });
      }
    }
  }

  /** Closes the stream: the server stops the model and keeps the answer so far. */
  stop() {
    this.#stopped = true;
    this.#controller.abort();
  }

  #dispatch(event) {
    const { state, actions } = applyEvent(this.state, event);
    this.state = state;
    for (const action of actions) this.perform(action);
  }
}
