// The message box: Enter sends, Shift+Enter starts a new line, Escape stops an answer; it grows
// with its text, and shows Send or Stop depending on whether an answer is streaming. A file pasted
// into it (a screenshot from the clipboard) is attached; Send waits while files upload.

export class Composer {
  /** `hooks`: send(text) when the person sends, stop() for Stop or Escape, attach(files) for
   * files pasted. */
  constructor({ form, input, send, stop }, hooks) {
    this.input = input;
    this.sendButton = send;
    this.stopButton = stop;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      hooks.send(input.value);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        hooks.send(input.value);
      } else if (event.key === "Escape") {
        hooks.stop();
      }
    });
    input.addEventListener("input", () => this.#autosize());
    input.addEventListener("paste", (event) => {
      const data = event.clipboardData;
      const files = Array.from(data?.files ?? []);
      // Text copied from a document or a spreadsheet often comes with a picture of itself:
      // then the text is what was meant.
      if (!files.length || data.types.includes("text/plain")) return;
      event.preventDefault();
      hooks.attach?.(files);
    });
    stop.addEventListener("click", () => hooks.stop());
  }

  focus() {
    this.input.focus();
  }

  /** Stop in place of Send while an answer streams; the focus goes along with the button. */
  setBusy(busy) {
    const active = document.activeElement;
    const hadFocus = active === this.stopButton || active === this.sendButton;
    this.sendButton.hidden = busy;
    this.stopButton.hidden = !busy;
    if (hadFocus) (busy ? this.stopButton : this.input).focus();
  }

  /** Send waits while files are still uploading. */
  setUploading(uploading) {
    this.sendButton.disabled = uploading;
    this.sendButton.title = uploading ? "Waiting for the files to finish uploading" : "";
  }

  /** The message was sent: empty the box, unless something else was typed since. */
  take(text) {
    if (this.input.value !== text) return;
    this.input.value = "";
    this.#autosize();
  }

  /** The message was refused: put it back, unless something else is in the box. */
  giveBack(text) {
    if (this.input.value) return;
    this.input.value = text;
    this.#autosize();
  }

  #autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${this.input.scrollHeight + 2}px`;
  }
}
