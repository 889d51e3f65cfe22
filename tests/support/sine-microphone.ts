/**
 * Page init-script fragment: replaces the microphone with a sine tone of `hz`, so what the far
 * end hears is known (detected there by FFT or in baresip's recording).
 */
export const SINE_MICROPHONE = (hz: number) => `
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
      if (!c || !c.audio) return real(c);
      const ctx = new AudioContext();
      await ctx.resume();
      const osc = ctx.createOscillator();
      osc.frequency.value = ${hz};
      const g = ctx.createGain(); g.gain.value = 0.5;
      const dest = ctx.createMediaStreamDestination();
      osc.connect(g).connect(dest);
      osc.start();
      return dest.stream;
    };`;

/**
 * Page init script (after SINE_MICROPHONE): a second microphone ("Koe test microphone 2", id
 * `koe-mic-2`, a sine of `hz2`) and a second output ("Koe test speakers", id `koe-speaker-2`)
 * listed by enumerateDevices; getUserMedia for koe-mic-2 gives its tone. Every AudioContext is
 * kept in `window.__koeAudio` with the sink it was told to use (`setSinkId` to the fake output
 * is accepted without reaching Chromium, which has no such device) and an AnalyserNode tapping
 * whatever is connected to its destination: the ring can be heard on the device it rings on.
 */
export const EXTRA_AUDIO_DEVICES = (hz2: number) => `
  (() => {
    const md = navigator.mediaDevices;
    const extra = [
      { deviceId: 'koe-mic-2', kind: 'audioinput', label: 'Koe test microphone 2', groupId: 'koe-mic-2' },
      { deviceId: 'koe-speaker-2', kind: 'audiooutput', label: 'Koe test speakers', groupId: 'koe-speaker-2' },
    ].map((d) => ({ ...d, toJSON() { return d; } }));
    const realEnum = md.enumerateDevices.bind(md);
    md.enumerateDevices = async () => [...(await realEnum()), ...extra];
    const before = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => {
      const want = c && c.audio && typeof c.audio === 'object' ? c.audio.deviceId : undefined;
      const id = want && typeof want === 'object' ? (want.exact ?? want.ideal) : want;
      if (id !== 'koe-mic-2') return before(c);
      const ctx = new AudioContext();
      await ctx.resume();
      const osc = ctx.createOscillator();
      osc.frequency.value = ${hz2};
      const g = ctx.createGain(); g.gain.value = 0.5;
      const dest = ctx.createMediaStreamDestination();
      osc.connect(g).connect(dest);
      osc.start();
      return dest.stream;
    };
    window.__koeAudio = [];
    const Real = window.AudioContext;
    window.AudioContext = class extends Real {
      constructor(...a) {
        super(...a);
        this.__koeSink = '';
        this.__koeTap = null;
        window.__koeAudio.push(this);
      }
      setSinkId(id) {
        this.__koeSink = id;
        if (id === 'koe-speaker-2') return Promise.resolve();
        return super.setSinkId ? super.setSinkId(id) : Promise.resolve();
      }
    };
    const connect = AudioNode.prototype.connect;
    AudioNode.prototype.connect = function (dest, ...rest) {
      if (dest instanceof AudioDestinationNode) {
        const ctx = this.context;
        if (!ctx.__koeTap) {
          ctx.__koeTap = ctx.createAnalyser();
          ctx.__koeTap.fftSize = 4096;
        }
        connect.call(this, ctx.__koeTap);
      }
      return connect.call(this, dest, ...rest);
    };
  })();`;
