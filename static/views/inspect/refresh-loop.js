// Refreshes run one at a time; asks made meanwhile merge into one more. While live (a run
// trains the network) the next refresh starts as soon as the last one is done, but at most
// once every liveMs: the page keeps up with the weights the server publishes (four times a
// second) without piling requests onto a busy server, and the page stays free between them.

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class RefreshLoop {
  // refresh({explain}): a promise that settles when the page shows the answers.
  constructor(refresh, { liveMs = 250 } = {}) {
    this.refresh = refresh;
    this.liveMs = liveMs;
    this.live = false;
    this.wanted = null;
    this.running = false;
  }

  request({ explain = false } = {}) {
    this.wanted = { explain: Boolean(explain || (this.wanted && this.wanted.explain)) };
    if (!this.running) this.run();
  }

  setLive(on) {
    const was = this.live;
    this.live = on;
    if (on && !was) this.request();
  }

  async run() {
    this.running = true;
    try {
      while (this.wanted) {
        const want = this.wanted;
        this.wanted = null;
        const started = performance.now();
        try {
          await this.refresh(want);
        } catch (e) {
          console.error(e); // a bug in drawing: the next refresh may still work
        }
        if (this.live && !this.wanted) {
          await sleep(Math.max(0, this.liveMs - (performance.now() - started)));
          if (this.live && !this.wanted) this.wanted = { explain: false };
        }
      }
    } finally {
      this.running = false;
    }
  }
}
