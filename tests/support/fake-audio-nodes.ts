// Web Audio nodes that do nothing, for component tests of code that builds an audio graph
// (the ringtone, the microphone test): jsdom has no Web Audio.
export class FakeParam {
  value = 0;
  setValueAtTime() {}
}
export class FakeNode {
  gain = new FakeParam();
  frequency = new FakeParam();
  connect(n: unknown) {
    return n;
  }
  disconnect() {}
  start() {}
  stop() {}
}
