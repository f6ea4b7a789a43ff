"""A live session: audio (or text) in as it arrives, timestamped frames out at a steady rate.

The session keeps one timeline of what the portrait hears or says, at 16 kHz. Microphone audio
is appended as it arrives; text is spoken (Kokoro or eSpeak NG) and its audio placed on the
timeline with its exact phone timings. Frame ``i`` shows time ``i / fps`` of the timeline and is
made once the timeline is known :attr:`LiveOptions.lookahead_s` past it (plus what our viseme
network and its decoder need) and the wall clock has reached it.

Audio that comes late does not stall the stream: after :attr:`LiveOptions.max_wait_s` the
missing stretch is taken as silence (``stats.silence_filled_s``). Audio that comes in a burst
cannot let delay pile up: whatever would put the timeline more than
:attr:`LiveOptions.max_buffer_s` ahead of the clock is dropped (``stats.audio_dropped_s``), and
frames that fall behind are made (motion advances) but not rendered (``stats.frames_skipped``).

Usage (what an avatar plugin for a voice-agent framework wraps)::

    session = LiveSession(portrait)
    session.push_audio(pcm_int16, sample_rate=48000)   # any size, any rate, as it comes
    for frame in session.pull():                        # whatever is due now
        show(frame.image, frame.time_s)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

import av
import numpy as np

import gioconda.speech.audio as _audio
from gioconda.errors import GiocondaError
from gioconda.face.portrait import Portrait
from gioconda.live.buffers import _PROSODY_FIELDS, _Growing, _normalize, _shared_net
from gioconda.live.motion import MotionStream
from gioconda.live.network import StreamingVisemeNet
from gioconda.live.options import LiveFrame, LiveOptions, LiveStats
from gioconda.motion.controls import CONTROLS, MotionControls, control_value
from gioconda.provenance.watermark import Watermarker
from gioconda.render.label import SyntheticLabel
from gioconda.render.renderer import Renderer
from gioconda.speech.audio import Audio, AudioFeatures, analyze_audio, log_mel, resample
from gioconda.speech.synthesis import speak
from gioconda.speech.visemenet import LOOKAHEAD_FRAMES, VisemePosteriors, path_to_phones
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

#: Sample rate of the speech a session sends back with its frames (text mode).
OUTPUT_SAMPLE_RATE = 24_000


_SR = ANALYSIS_SAMPLE_RATE


_HOP_SAMPLES = round(FEATURE_HOP_S * _SR)


_MEL_HALF = 200  # half the log-mel window (25 ms at 16 kHz)


#: Hops of context the viseme network needs before the hops it scores (its receptive field).
_NET_PAST_HOPS = 2 * (1 + 2 + 4 + 8 + 16) + LOOKAHEAD_FRAMES + 2


#: Hops of audio the prosody of new hops is measured over (level is relative to this span).
_PROSODY_WINDOW_HOPS = 300


#: Pauses shorter than this many hops are not pauses (analyze_audio closes such gaps).
_SPEECH_HANGOVER_HOPS = 20


#: Hops the live Viterbi decoder looks back over, and how many hops it waits before it commits.
_DECODE_WINDOW_HOPS = 120


class LiveSession:
    """A portrait that talks as its audio arrives.

    Parameters
    ----------
    portrait: the analyzed photo (:func:`gioconda.face.analyze_portrait`)
    options: see :class:`LiveOptions`
    controls: starting controls (seed, gaze, emotion, head distance, motion intensity, blinks)
    clock: wall clock in seconds (tests pass their own)
    renderer: a :class:`~gioconda.render.Renderer` of ``portrait`` to share (made if None)

    Audio, text and controls may be pushed from one thread (say, a network task) while another
    pulls frames: pushing only queues, and :meth:`pull` takes the queue in.
    """

    def __init__(
        self,
        portrait: Portrait,
        options: LiveOptions | None = None,
        controls: MotionControls | None = None,
        clock: Callable[[], float] = time.monotonic,
        renderer: Renderer | None = None,
    ) -> None:
        options = options or LiveOptions()
        if not (np.isfinite(options.fps) and 1 <= options.fps <= 60):
            raise GiocondaError(f"live fps must be between 1 and 60, got {options.fps}")
        self.portrait = portrait
        self.options = options
        self.clock = clock
        self.renderer = renderer or Renderer(portrait)
        self.stamp = SyntheticLabel(portrait.size, portrait.size) if options.label else None
        # The invisible watermark, as in every video: a new render id per session.
        self.mark = Watermarker(portrait.size, portrait.size)
        self.motion = MotionStream(options.fps, controls or MotionControls())
        self.net = StreamingVisemeNet(_shared_net())
        self.stats = LiveStats()
        self.lock = threading.Lock()
        # What push_* hand over, taken in by pull (deque appends are atomic): pushing never
        # waits for a frame to render.
        self.inbox: deque[tuple[str, tuple, float]] = deque()
        self.recent_chunks_s: deque[float] = deque(maxlen=25)
        self.start = clock()
        self.next_index = 0
        # The timeline at 16 kHz: samples[k] is sample (offset + k); older ones are forgotten.
        self.samples = np.zeros(0, np.float32)
        self.offset = 0
        self.n_samples = 0  # total samples on the timeline
        # (end sample, wall time it arrived or None, tag) of each stretch of the timeline.
        self.arrivals: list[tuple[int, float | None, int | None]] = []
        self.resamplers: dict[int, av.AudioResampler] = {}
        # Per hop: log-mel (normalized), network log-probabilities, prosody; as lists of arrays.
        self.mel_state: np.ndarray | None = None
        self.hops_analyzed = 0
        self.posteriors = _Growing(15)
        self.prosody = {name: _Growing(0) for name in _PROSODY_FIELDS}
        self.path = _Growing(0)  # committed viseme index per hop (mic)
        self.loudness_history = np.zeros(0, np.float32)
        self.quiet_hops = _SPEECH_HANGOVER_HOPS
        self.heard = False
        self.text_phones: list[PhoneSegment] = []
        self.text_spans: list[tuple[float, float]] = []
        self.text_prosody: list[tuple[int, AudioFeatures]] = []  # (first hop, features)
        self.text_audio: list[tuple[int, np.ndarray]] = []  # (start sample at 24 kHz, samples)
        self.audio_sent_to = 0  # output samples (24 kHz) already handed out

    # -- input ------------------------------------------------------------------------------

    def push_audio(
        self,
        samples: np.ndarray,
        sample_rate: int,
        tag: int | None = None,
        arrived: float | None = None,
    ) -> None:
        """Microphone audio as it arrives: int16 or float PCM, mono, at any rate, any size.

        ``tag`` (say, the chunk's sequence number) comes back on the frames that show it;
        ``arrived`` is when it arrived on the session's clock (None: now), for a caller that
        held it. Cheap and never blocked by rendering: the audio waits in an inbox until the
        next :meth:`pull`.
        """
        if not 4000 <= sample_rate <= 192_000:
            raise GiocondaError(f"sample rate {sample_rate} Hz is out of range (4-192 kHz)")
        samples = np.asarray(samples)
        if samples.ndim != 1:
            raise GiocondaError("push_audio takes mono samples, (n,)")
        if samples.dtype == np.int16:
            samples = samples.astype(np.float32) / 32768.0
        samples = np.clip(np.nan_to_num(samples.astype(np.float32)), -1.0, 1.0)
        when = self.clock() if arrived is None else arrived
        self.inbox.append(("audio", (samples, int(sample_rate), tag), when))

    def push_text(self, text: str, voice: str | None = None) -> float:
        """Speak ``text`` (Kokoro or eSpeak NG): its audio goes on the timeline with its exact
        phone timings and comes back with the frames. Returns the speech's duration (s).

        Raises
        ------
        GiocondaError: empty or too long text, or an unknown voice.
        """
        text = text.strip()
        if not text:
            raise GiocondaError("nothing to say: the text is empty")
        if len(text) > self.options.max_text_chars:
            raise GiocondaError(f"text is over {self.options.max_text_chars} characters")
        spoken = speak(text, voice=voice or self.options.voice)
        return self.push_speech(spoken.audio, spoken.phones)

    def push_speech(self, audio: Audio, phones: Sequence[PhoneSegment]) -> float:
        """Speech made elsewhere (another text-to-speech, with its phone timings): played back
        with the frames, the mouth on ``phones``. Returns its duration (s)."""
        if len(audio.samples) == 0:
            raise GiocondaError("the speech is empty")
        analysis = resample(audio, _SR)
        playback = resample(audio, OUTPUT_SAMPLE_RATE).samples
        self.inbox.append(("text", (analysis, playback, tuple(phones)), self.clock()))
        return analysis.duration_s

    def set_control(self, control: str, value: object) -> None:
        """Change a control now (``gaze``, ``emotion``, ``emotion_strength``, ``head_distance``,
        ``motion_intensity``, ``blink_rate``); it eases in over the next frames.

        Raises
        ------
        GiocondaError: an unknown control or a value out of its range.
        """
        if control not in CONTROLS:
            raise GiocondaError(f"unknown control {control!r}; one of {', '.join(CONTROLS)}")
        self.inbox.append(("control", (control, control_value(control, value)), self.clock()))

    def _ingest(self) -> None:
        """Take in what was pushed since the last pull, in order."""
        while self.inbox:
            kind, payload, arrived = self.inbox.popleft()
            if kind == "audio":
                samples, rate, tag = payload
                self._ingest_audio(samples, rate, tag, arrived)
            elif kind == "text":
                analysis, playback, phones = payload
                self._ingest_text(analysis, playback, phones, arrived)
            else:
                control, value = payload
                # From the next frame to be made: it acts within a frame or two.
                self.motion.set_control(control, value, self.next_index / self.options.fps)

    def _ingest_audio(
        self, samples: np.ndarray, rate: int, tag: int | None, arrived: float
    ) -> None:
        self.stats.audio_in_s += len(samples) / rate
        converted = self._resample(samples, rate)
        # A burst (or speech still playing) would put the timeline too far ahead of the clock:
        # drop what does not fit, so delay never piles up.
        room = self._clock_s(arrived) + self._delay_s() + self.options.max_buffer_s
        keep = int(max(0.0, room * _SR - self.n_samples + self._samples_to_cover(0.0)))
        if keep < len(converted):
            self.stats.audio_dropped_s += (len(converted) - keep) / _SR
            converted = converted[:keep]
        self.recent_chunks_s.append(len(converted) / _SR)
        self._append(converted, arrived, tag)

    def _ingest_text(
        self, analysis: Audio, playback: np.ndarray, phones: Sequence[PhoneSegment], arrived: float
    ) -> None:
        # Start on a frame boundary (as a clip starts on frame 0), at the clock or after what
        # is already queued.
        start_s = max(self.n_samples / _SR, self._clock_s(arrived) + self._delay_s())
        start_s = np.ceil(start_s * self.options.fps - 1e-9) / self.options.fps
        start = round(start_s * _SR)
        if start > self.n_samples:
            self._append(np.zeros(start - self.n_samples, np.float32), None)
        # Text frames are paced by the clock, not waiting on arrivals: no arrival time.
        self._append(analysis.samples, None)
        self.text_prosody.append((round(start / _HOP_SAMPLES), analyze_audio(analysis)))
        self.text_phones += [
            PhoneSegment(p.start_s + start_s, p.end_s + start_s, p.phone, p.viseme) for p in phones
        ]
        self.text_spans.append((start_s, start_s + analysis.duration_s))
        self.text_audio.append((round(start_s * OUTPUT_SAMPLE_RATE), playback))
        self.stats.texts += 1

    # -- output -----------------------------------------------------------------------------

    def pull(self, draw: bool = True) -> list[LiveFrame]:
        """Every frame that is due now (usually zero or one), rendered.

        ``draw=False`` when whoever takes the frames is still behind (a slow client): the due
        frames are made (the motion advances) but not rendered, and counted in
        ``stats.frames_skipped_consumer``; their speech comes with the next drawn frame.
        """
        with self.lock:
            return self._pull(self.clock(), draw)

    def due_at(self) -> float:
        """When (on the session's clock) the next frame is due, if its audio is in by then."""
        return self.start + self.next_index / self.options.fps

    def _pull(self, now: float, draw: bool = True) -> list[LiveFrame]:
        t0 = time.perf_counter()
        self._ingest()
        self._analyze()
        features_s = time.perf_counter() - t0
        fps = self.options.fps
        due: list[int] = []
        while True:
            t = self.next_index / fps
            if now < self.start + t:
                break
            need_s = t + self._delay_s()
            if self._covered_s() < need_s - 1e-9:
                # Due once the audio that decides it could have come, plus the wait for a chunk.
                if now < self.start + self._samples_to_cover(need_s) / _SR + self._wait_s():
                    break
                # The audio is late: take the missing stretch as silence, keep the stream going.
                missing = self._samples_to_cover(need_s) - self.n_samples
                self.stats.silence_filled_s += max(missing, 0) / _SR
                self._append(np.zeros(max(missing, 0), np.float32), None)
                t1 = time.perf_counter()
                self._analyze()
                features_s += time.perf_counter() - t1
            due.append(self.next_index)
            self.next_index += 1
        if not due:
            return []
        frames = []
        for k, index in enumerate(due):
            t1 = time.perf_counter()
            motion = self._motion(index)
            motion_s = time.perf_counter() - t1
            self.stats.frames += 1
            if not draw:
                self.stats.frames_skipped_consumer += 1
                continue
            if k < len(due) - 1 and self._too_late(index):
                # The machine is behind: made (the motion advances) but not drawn, so that
                # delay cannot pile up. The newest due frame is always drawn.
                self.stats.frames_skipped += 1
                continue
            t2 = time.perf_counter()
            image = self.renderer.render(motion)
            if self.stamp is not None:
                self.stamp(image)
            image = self.mark(image)
            render_s = time.perf_counter() - t2
            ready = self.clock()
            arrival, tag = self._arrival_of(index / fps)
            # The look-ahead: how long after this audio came the audio it waited for came.
            covered_at, _ = self._arrival_of(
                (self._samples_to_cover(index / fps + self._delay_s()) - 1) / _SR
            )
            self.stats.frames_rendered += 1
            if arrival is not None:
                self.stats.latency_s.append(ready - arrival)
                wait = (covered_at - arrival) if covered_at is not None else 0.0
                for name, value in (
                    ("lookahead", wait),
                    ("features", features_s),
                    ("motion", motion_s),
                    ("render", render_s),
                ):
                    self.stats.stage_s[name].append(value)
            frames.append(
                LiveFrame(
                    index,
                    index / fps,
                    image,
                    motion,
                    self._speech_until((index + 1) / fps),
                    arrival,
                    tag,
                    ready,
                )
            )
            features_s = 0.0
        self._forget()
        return frames

    def close(self) -> None:
        """Release what the session holds (its timeline and pending input); never waits for a
        frame being rendered."""
        self.inbox.clear()
        self.samples = np.zeros(0, np.float32)
        self.text_audio = []

    # -- the timeline -----------------------------------------------------------------------

    def _too_late(self, index: int) -> bool:
        """Whether frame ``index`` would now be shown later than max_latency_s after the audio
        it shows could have come (beyond waiting for that audio in its chunk)."""
        t = index / self.options.fps
        could_come = self.start + self._samples_to_cover(t + self._delay_s()) / _SR
        return self.clock() > could_come + self._wait_s() + self.options.max_latency_s

    def _wait_s(self) -> float:
        """How long a frame waits for its audio: at least max_wait_s, and longer when audio
        comes in big chunks (a 100 ms chunk is not late before its last sample is due)."""
        # A high percentile, so that one burst (a stalled network catching up) does not count.
        chunks = self.recent_chunks_s
        typical = float(np.percentile(chunks, 90)) if chunks else 0.0
        return max(self.options.max_wait_s, 1.1 * typical + 0.01)

    def _clock_s(self, now: float) -> float:
        return now - self.start

    def _delay_s(self) -> float:
        """How far past a frame's time the timeline must be analyzed before it is made."""
        return self.options.lookahead_s

    def _resample(self, samples: np.ndarray, rate: int) -> np.ndarray:
        if rate == _SR:
            return samples
        if rate not in self.resamplers:
            self.resamplers[rate] = av.AudioResampler(format="flt", layout="mono", rate=_SR)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        parts = [f.to_ndarray().reshape(-1) for f in self.resamplers[rate].resample(frame)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)

    def _append(self, samples: np.ndarray, arrival: float | None, tag: int | None = None) -> None:
        self.samples = np.concatenate([self.samples, samples])
        self.n_samples += len(samples)
        self.arrivals.append((self.n_samples, arrival, tag))

    def _arrival_of(self, t_s: float) -> tuple[float | None, int | None]:
        """When the audio at ``t_s`` arrived (None: filled silence or text) and its tag."""
        sample = round(t_s * _SR)
        for end, arrival, tag in self.arrivals:
            if end > sample:
                return arrival, tag
        return None, None

    def _covered_s(self) -> float:
        """Up to where the timeline's phones are known, in seconds."""
        decided = len(self.path) - 1
        return max(decided, 0) * FEATURE_HOP_S

    def _samples_to_cover(self, t_s: float) -> int:
        """Timeline samples needed before the phones at ``t_s`` are decided."""
        hop = int(np.ceil(t_s / FEATURE_HOP_S - 1e-9))
        return (hop + self.options.decoder_lag_hops + LOOKAHEAD_FRAMES) * _HOP_SAMPLES + _MEL_HALF

    def _forget(self) -> None:
        """Drop timeline samples and arrival records nothing will look at again."""
        keep_from = max(0, self.n_samples - _PROSODY_WINDOW_HOPS * _HOP_SAMPLES - _SR)
        if keep_from > self.offset:
            self.samples = self.samples[keep_from - self.offset :]
            self.offset = keep_from
        t_old = self.next_index / self.options.fps - 2.0
        old = round(t_old * _SR)
        while len(self.arrivals) > 1 and self.arrivals[0][0] < old:
            self.arrivals.pop(0)
        self.text_phones = [p for p in self.text_phones if p.end_s > t_old - 1.0]
        self.text_spans = [s for s in self.text_spans if s[1] > t_old - 1.0]
        hop_old = round((t_old - 1.0) / FEATURE_HOP_S)
        self.text_prosody = [p for p in self.text_prosody if p[0] + len(p[1].level) > hop_old]
        # What motion, decoding and the mouth still read: the last few seconds of hops.
        keep_hop = max(round((t_old - 3.0) / FEATURE_HOP_S), 0)
        for column in (self.posteriors, self.path, *self.prosody.values()):
            column.forget(keep_hop)
        for values in (self.stats.latency_s, *self.stats.stage_s.values()):
            del values[:-5000]

    # -- analysis of new audio --------------------------------------------------------------

    def _analyze(self) -> None:
        """Log-mel, network, prosody and decoded visemes for every hop whose audio is in."""
        first = self.hops_analyzed
        last = (self.n_samples - _MEL_HALF) // _HOP_SAMPLES  # hops whose window is complete
        if last >= first:
            lo = max(first - 2, 0) * _HOP_SAMPLES  # two hops of margin for the window
            segment = self._samples_between(lo, last * _HOP_SAMPLES + _MEL_HALF)
            mel = log_mel(Audio(segment, _SR))
            skip = first - max(first - 2, 0)
            new = mel[skip : skip + last - first + 1]
            normalized, self.mel_state = _normalize(new, self.mel_state)
            self.hops_analyzed += len(normalized)
            # The network scores a hop once LOOKAHEAD_FRAMES hops after it are in.
            self.posteriors.extend(self.net.push(normalized))
            self._analyze_prosody(first, last + 1)
        self._decode()

    def _analyze_prosody(self, first: int, stop: int) -> None:
        """Prosody of hops ``first .. stop``, causally.

        The offline :func:`~gioconda.speech.audio.analyze_audio` per hop (the same 25 ms windows,
        loudness and pitch), with its whole-clip thresholds replaced by the last few seconds'
        and its gap closing by a hangover: speech stays on for the gap it would close.
        """
        win, hop = round(0.025 * _SR), _HOP_SAMPLES
        lo = first * hop - win // 2
        segment = self._samples_between(lo, (stop - 1) * hop - win // 2 + win)
        starts = np.arange(stop - first) * hop
        frames = segment[starts[:, None] + np.arange(win)[None, :]]
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        loudness = np.maximum(20 * np.log10(rms + 1e-10), -100.0).astype(np.float32)
        pitch, periodicity = _audio.autocorrelation_pitch(frames, _SR)
        self.loudness_history = np.concatenate([self.loudness_history, loudness])[
            -_PROSODY_WINDOW_HOPS:
        ]
        floor_db = float(np.percentile(self.loudness_history, 10))
        peak_db = float(np.percentile(self.loudness_history, 95))
        threshold = max(floor_db + 0.35 * (peak_db - floor_db), peak_db - 40.0, -60.0)
        active = loudness > threshold
        speech = np.zeros(len(active), bool)
        for i, on in enumerate(active):
            self.quiet_hops = 0 if on else self.quiet_hops + 1
            speech[i] = self.quiet_hops < _SPEECH_HANGOVER_HOPS and self.heard_speech_or(on)
        voiced = (periodicity > 0.45) & (loudness > threshold - 6.0)
        span = max(peak_db - threshold, 6.0)
        values = {
            "loudness_db": loudness,
            "speech": speech,
            "voiced": voiced,
            "pitch_hz": np.where(voiced, pitch, 0.0),
            "level": np.clip((loudness - threshold) / span, 0.0, 1.0),
        }
        for name in _PROSODY_FIELDS:
            self.prosody[name].extend(values[name].astype(np.float64))
        self._apply_text_prosody(first, stop)

    def heard_speech_or(self, on: bool) -> bool:
        self.heard = self.heard or on
        return self.heard

    def _apply_text_prosody(self, first: int, stop: int) -> None:
        """Hops inside spoken text take the prosody of the whole utterance, as offline."""
        for hop0, features in self.text_prosody:
            lo, hi = max(first, hop0), min(stop, hop0 + len(features.level))
            for name in _PROSODY_FIELDS if hi > lo else ():
                self.prosody[name].assign(lo, getattr(features, name)[lo - hop0 : hi - hop0])

    def _decode(self) -> None:
        """Commit the viseme path up to ``decoder_lag_hops`` before the newest scored hop."""
        scored = len(self.posteriors)
        commit_to = scored - self.options.decoder_lag_hops
        done = len(self.path)
        if commit_to <= done:
            return
        lo = max(commit_to - _DECODE_WINDOW_HOPS, 0)
        path = VisemePosteriors(self.posteriors.view(lo, scored)).viseme_path()
        self.path.extend(path[done - lo : commit_to - lo].astype(np.float64))

    def _samples_between(self, lo: int, hi: int) -> np.ndarray:
        out = np.zeros(hi - lo, np.float32)
        a, b = max(lo, self.offset), min(hi, self.n_samples)
        if b > a:
            out[a - lo : b - lo] = self.samples[a - self.offset : b - self.offset]
        return out

    # -- motion -----------------------------------------------------------------------------

    def _motion(self, index: int):
        fps = self.options.fps
        t = index / fps
        hop_lo = max(round((t - 3.0) / FEATURE_HOP_S), 0)
        hop_hi = len(self.prosody["level"])
        view = {name: self.prosody[name].view(hop_lo, hop_hi) for name in _PROSODY_FIELDS}
        prosody = AudioFeatures(
            view["loudness_db"].astype(np.float32),
            view["speech"] > 0.5,
            view["voiced"] > 0.5,
            view["pitch_hz"].astype(np.float32),
            view["level"].astype(np.float32),
        )
        phones = self._phones_around(t)
        mouth = self.motion.mouth(index, 1, phones, prosody, hop_lo)[0]
        return self.motion.frame(index, mouth, prosody, hop_lo)

    def _phones_around(self, t: float) -> list[PhoneSegment]:
        """Phones near ``t``: spoken text's exact ones, and where the microphone's audio is on
        the timeline, the network's decoded path (filled silence has none: the mouth rests)."""
        span = 1.0
        phones = [p for p in self.text_phones if p.end_s > t - span and p.start_s < t + span]
        lo = max(round((t - span) / FEATURE_HOP_S), 0)
        hi = len(self.path)
        heard = self._heard_spans()
        if hi > lo and heard:
            decoded = path_to_phones(self.path.view(lo, hi).astype(np.int64))
            origin = lo * FEATURE_HOP_S
            for k, p in enumerate(decoded):
                if p.viseme == "sil":
                    continue  # the mouth rests wherever no phone is, as offline
                start, end = p.start_s + origin, p.end_s + origin
                if k == len(decoded) - 1:
                    end = start + 10.0  # the newest sound is held until the next is heard
                for a, b in heard:
                    if a <= start < b or start <= a < end:
                        phones.append(PhoneSegment(max(start, a), min(end, b), p.phone, p.viseme))
        return phones

    def _heard_spans(self) -> list[tuple[float, float]]:
        """Stretches of the timeline that came from the microphone, (start_s, end_s)."""
        spans: list[tuple[float, float]] = []
        previous = None
        for end, arrival, _ in self.arrivals:
            if previous is not None and arrival is not None:
                if spans and abs(spans[-1][1] - previous / _SR) < 1e-9:
                    spans[-1] = (spans[-1][0], end / _SR)
                else:
                    spans.append((previous / _SR, end / _SR))
            previous = end
        return spans

    def _speech_until(self, t_s: float) -> np.ndarray | None:
        """Spoken text's audio from what was handed out up to ``t_s`` (24 kHz), or None."""
        end = round(t_s * OUTPUT_SAMPLE_RATE)
        begin = self.audio_sent_to
        if end <= begin:
            return None
        self.audio_sent_to = end
        out = np.zeros(end - begin, np.float32)
        found = False
        for start, samples in self.text_audio:
            a, b = max(begin, start), min(end, start + len(samples))
            if b > a:
                out[a - begin : b - begin] = samples[a - start : b - start]
                found = True
        self.text_audio = [(s, x) for s, x in self.text_audio if s + len(x) > end]
        return out if found else None
