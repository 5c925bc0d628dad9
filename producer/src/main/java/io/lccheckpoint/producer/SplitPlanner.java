package io.lccheckpoint.producer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;

/**
 * The cost model behind {@code lcckpt.split=auto} (DESIGN.md §6): from measured quantities it predicts how long a step
 * takes to reach the checkpoint topic with the codec's stages on each side, and picks the side that finishes a step
 * soonest within the trainer's CPU budget. Pure logic, fed by the producer's sender thread; no Kafka here.
 *
 * <p>A step is a pipeline of stages that overlap across steps, so its steady-state time is the slowest stage:
 * <ul>
 *   <li>storage: max(trainer step, send(raw bytes), encoder coding per step);</li>
 *   <li>trainer: max(trainer step, local coding + send(coded bytes), encoder applying per step) — coding and sending
 *       share the producer's sender thread, so they add up.</li>
 * </ul>
 * Sending is modelled as {@code latency + bytes / bandwidth}, fitted by least squares over the last transactions of
 * both splits (one split's transfers alone only give the slope through the origin). What the model cannot see (cores
 * shared with the broker and the encoder, a quota's bursts) shows in the periods observed while a split ran: a split's
 * prediction is never below them while they are recent, and a split without recent observations has its model scaled by
 * how much slower than its model the other split was observed. The trainer split is ruled out when its coding would take more
 * than {@code cpuBudget} of a core per step. A switch needs the other side to be predicted faster by {@code hysteresis},
 * or by twice that when it has not been observed recently (the model alone, and a switch to the trainer costs a
 * handover round trip); a plan made before the trainer's step time is known keeps the current split unless the budget
 * rules it out. Thread-safe: the sender and the encoder watcher feed it.
 */
public final class SplitPlanner {
    /** Where the codec's stages run. */
    public enum Split { STORAGE, TRAINER }

    /** What the planner predicted, for logs and the experiment's tables. */
    public record Plan(Split split, double storageSeconds, double trainerSeconds, boolean trainerWithinBudget, String reason) {
    }

    private static final int WINDOW = 32;
    private static final double ALPHA = 0.3;

    private final double cpuBudget;
    private final double hysteresis;
    /** The last transfers under each split: a run of small coded transfers alone would extrapolate a raw step's time badly. */
    private final EnumMap<Split, Deque<double[]>> transfers = new EnumMap<>(Split.class);
    private final Deque<Double> intervals = new ArrayDeque<>();
    private static final int CODING_WINDOW = 5;

    /** Recent steps coded here: {wall seconds per value, CPU seconds per value, coded/raw bytes}. */
    private final Deque<double[]> codings = new ArrayDeque<>();
    private double codeSecondsPerValue = Double.NaN;
    private double codeCpuSecondsPerValue = Double.NaN;
    private double codedRatio = Double.NaN;
    /** Per split, the whole periods of recent steps that ran under it (back-pressure included), and the plan that last saw one. */
    private final EnumMap<Split, Deque<Double>> observed = new EnumMap<>(Split.class);
    private final EnumMap<Split, Integer> observedAtPlan = new EnumMap<>(Split.class);
    private int plans;
    private double encoderStorageSecondsPerValue = 0;
    private double encoderTrainerSecondsPerValue = 0;

    public SplitPlanner(double cpuBudget, double hysteresis) {
        this.cpuBudget = cpuBudget;
        this.hysteresis = hysteresis;
    }

    /** The trainer's own time for a step (between two publishes, back-pressure excluded); the median of the last 8 counts. */
    public synchronized void stepInterval(double seconds) {
        intervals.addLast(seconds);
        if (intervals.size() > 8) {
            intervals.removeFirst();
        }
    }

    /** The median of the recent step intervals, 0 before the first (the plan then weighs the pipeline alone). */
    private double stepSeconds() {
        if (intervals.isEmpty()) {
            return 0;
        }
        return median(intervals.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    /**
     * A step that ran under {@code split} took {@code seconds} from one publish to the next, back-pressure included: what
     * the model cannot see (cores shared with the broker and encoder, a quota's bursts) shows here. A split's prediction
     * is never below the median of its last 8, for {@link #OBSERVED_PLANS} plans after the last one.
     */
    public synchronized void observed(Split split, double seconds) {
        Deque<Double> periods = observed.computeIfAbsent(split, s -> new ArrayDeque<>());
        periods.addLast(seconds);
        if (periods.size() > 8) {
            periods.removeFirst();
        }
        observedAtPlan.put(split, plans);
    }

    /** How many plans a split's observed periods keep counting after its last step: then the model alone may try it again. */
    static final int OBSERVED_PLANS = 5;

    /** The median observed period of a split, or 0 if there are fewer than 3 or they are stale. */
    private double observedSeconds(Split split) {
        Deque<Double> periods = observed.get(split);
        if (periods == null || periods.size() < 3 || plans - observedAtPlan.get(split) > OBSERVED_PLANS) {
            return 0;
        }
        return median(periods.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** One committed transaction: payload bytes and the seconds from its first send to the end of its commit. */
    public void transfer(long bytes, double seconds) {
        transfer(Split.STORAGE, bytes, seconds);
    }

    /** Same, for a transaction of steps built under {@code split}; the fit keeps the last {@code WINDOW / 2} of each. */
    public synchronized void transfer(Split split, long bytes, double seconds) {
        Deque<double[]> recent = transfers.computeIfAbsent(split, s -> new ArrayDeque<>());
        recent.addLast(new double[] {bytes, seconds});
        if (recent.size() > WINDOW / 2) {
            recent.removeFirst();
        }
    }

    /**
     * Local coding of {@code values} values took {@code seconds} (wall clock: what the step waits for) and
     * {@code cpuSeconds} of the coding thread's CPU (what the budget limits), and made {@code codedBytes} of {@code rawBytes}.
     */
    public synchronized void coding(long values, double seconds, double cpuSeconds, long rawBytes, long codedBytes) {
        codings.addLast(new double[] {seconds / values, cpuSeconds / values, (double) codedBytes / rawBytes});
        if (codings.size() > CODING_WINDOW) {
            codings.removeFirst();
        }
        // wall time and ratio: the median of the recent steps. CPU time: the least of them. The first steps coded after a
        // switch run cold (interpreted code, buffers to allocate) and cost up to twice the steady state; CPU time, unlike
        // wall time, is not inflated by waiting for a core, so the least recent figure is the steady state's
        codeSecondsPerValue = median(codings.stream().mapToDouble(c -> c[0]).toArray());
        codeCpuSecondsPerValue = codings.stream().mapToDouble(c -> c[1]).min().orElseThrow();
        codedRatio = median(codings.stream().mapToDouble(c -> c[2]).toArray());
    }

    /**
     * A one-chunk probe under the storage split: it stands in until whole steps have been coded here, and is not mixed
     * into their figures afterwards (a probe runs cold and is a small sample).
     */
    public synchronized void probe(long values, double seconds, double cpuSeconds, long rawBytes, long codedBytes) {
        if (codings.isEmpty()) {
            codeSecondsPerValue = seconds / values;
            codeCpuSecondsPerValue = cpuSeconds / values;
            codedRatio = (double) codedBytes / rawBytes;
        }
    }

    /** Same, when wall clock and CPU are one (a coding thread with a core to itself). */
    public void coding(long values, double seconds, long rawBytes, long codedBytes) {
        coding(values, seconds, seconds, rawBytes, codedBytes);
    }

    /** The encoder's time per value when it is the bottleneck (from its progress while it lags), per split. */
    public synchronized void encoder(Split split, double secondsPerValue) {
        if (split == Split.STORAGE) {
            encoderStorageSecondsPerValue = ewma(encoderStorageSecondsPerValue, secondsPerValue);
        } else {
            encoderTrainerSecondsPerValue = ewma(encoderTrainerSecondsPerValue, secondsPerValue);
        }
    }

    /** The encoder kept up with the steps of this split: it is no limit for it. */
    public synchronized void encoderKeepsUp(Split split) {
        if (split == Split.STORAGE) {
            encoderStorageSecondsPerValue = 0;
        } else {
            encoderTrainerSecondsPerValue = 0;
        }
    }

    /** Whether there is enough to predict both splits. */
    public synchronized boolean ready() {
        return !Double.isNaN(codeSecondsPerValue) && !transfers.isEmpty();
    }

    /** The better split for steps of {@code values} values ({@code rawBytes} raw), given the current one. */
    public synchronized Plan plan(Split current, long values, long rawBytes) {
        if (!ready()) {
            return new Plan(current, Double.NaN, Double.NaN, true, "not enough measurements yet");
        }
        plans++;
        double stepSeconds = stepSeconds();
        double[] fit = fit();
        double latency = fit[0];
        double secondsPerByte = fit[1];
        double coding = codeSecondsPerValue * values;
        // under the storage split the encoder does all it does under the trainer split and the coding besides: if it is a
        // limit for the trainer split, it is at least as much of one for the storage split (measured or not yet)
        double encoderStorage = Math.max(encoderStorageSecondsPerValue, encoderTrainerSecondsPerValue) * values;
        double storageModel = Math.max(stepSeconds, Math.max(latency + rawBytes * secondsPerByte, encoderStorage));
        double trainerModel = Math.max(stepSeconds, Math.max(coding + latency + codedRatio * rawBytes * secondsPerByte,
                encoderTrainerSecondsPerValue * values));
        double storageObserved = observedSeconds(Split.STORAGE);
        double trainerObserved = observedSeconds(Split.TRAINER);
        // what the model cannot see weighs on a split not observed recently as much as on the one observed: its model is
        // scaled by the observed split's observed/model ratio (else an optimistic model is held against a measured period,
        // and on cores shared with broker and encoder the split not running always looks better)
        double storage = storageObserved > 0 ? Math.max(storageModel, storageObserved) : storageModel * unseen(trainerModel, trainerObserved);
        double trainer = trainerObserved > 0 ? Math.max(trainerModel, trainerObserved) : trainerModel * unseen(storageModel, storageObserved);
        // the budget limits the coding thread's CPU per step (its wall time also counts waiting for a core); before the
        // trainer's step time is known, it is held against the time the pipeline needs for a step. Leaving the trainer
        // split for the budget takes the hysteresis margin too, so a figure hovering at the budget does not flip-flop
        double codingCpu = codeCpuSecondsPerValue * values;
        double budgetSeconds = cpuBudget * (stepSeconds > 0 ? stepSeconds : Math.max(storage, coding));
        boolean withinBudget = codingCpu <= budgetSeconds * (current == Split.TRAINER ? 1 + hysteresis : 1);
        // a split not observed recently is predicted by the model alone, and trying it costs a switch (back to the trainer,
        // a handover round trip): it must win by twice the margin. Before the trainer's step time is known (the first plan)
        // the predictions leave out the trainer's own compute, which may hide both splits' costs: the plan is provisional
        // and only the budget moves it
        Split other = current == Split.STORAGE ? Split.TRAINER : Split.STORAGE;
        double margin = observedSeconds(other) > 0 ? hysteresis : 2 * hysteresis;
        double currentSeconds = current == Split.STORAGE ? storage : trainer;
        double otherSeconds = current == Split.STORAGE ? trainer : storage;
        Split best;
        if (!withinBudget) {
            best = Split.STORAGE;
        } else if (stepSeconds == 0) {
            best = current;
        } else {
            best = otherSeconds * (1 + margin) < currentSeconds ? other : current;
        }
        String reason = String.format(Locale.ROOT, "step %.1f ms; send %.1f ms + %.3f ms/MB; coding %.1f ms/step, %.1f ms of CPU (budget %.1f ms),"
                        + " ratio %.4f; observed storage %.1f ms, trainer %.1f ms; predicted storage %.1f ms, trainer %.1f ms", 1e3 * stepSeconds,
                1e3 * latency, 1e9 * secondsPerByte, 1e3 * coding, 1e3 * codingCpu, 1e3 * budgetSeconds, codedRatio, 1e3 * storageObserved,
                1e3 * trainerObserved, 1e3 * storage, 1e3 * trainer);
        return new Plan(best, storage, trainer, withinBudget, reason);
    }

    /** How much slower than its model the other split was observed (1 when it was not, or was not slower). */
    private static double unseen(double otherModel, double otherObserved) {
        return otherObserved > 0 && otherModel > 0 ? Math.max(1, otherObserved / otherModel) : 1;
    }

    /** Least squares {@code seconds = latency + bytes * slope} over the window; through the origin if the sizes do not vary. */
    synchronized double[] fit() {
        List<double[]> all = new ArrayList<>();
        transfers.values().forEach(all::addAll);
        double n = all.size();
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        double minX = Double.MAX_VALUE;
        double maxX = 0;
        for (double[] t : all) {
            sx += t[0];
            sy += t[1];
            sxx += t[0] * t[0];
            sxy += t[0] * t[1];
            minX = Math.min(minX, t[0]);
            maxX = Math.max(maxX, t[0]);
        }
        if (n >= 3 && maxX > 1.5 * minX) {
            double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
            double latency = (sy - slope * sx) / n;
            if (slope > 0 && latency >= 0) {
                return new double[] {latency, slope};
            }
        }
        return new double[] {0, sx > 0 ? sy / sx : 0};
    }

    private static double ewma(double current, double sample) {
        return Double.isNaN(current) || current == 0 ? sample : (1 - ALPHA) * current + ALPHA * sample;
    }
}
