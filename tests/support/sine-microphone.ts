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
