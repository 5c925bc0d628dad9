package io.lccheckpoint.producer.internals;

import io.lccheckpoint.producer.SplitPlanner;
import io.lccheckpoint.producer.SplitPlanner.Split;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which split each step is built with (DESIGN.md §6), and all of {@code lcckpt.split=auto}'s rules in one place: what
 * the {@link SplitPlanner} is fed (step intervals, transfers, coding, probes, the periods a split was observed, the
 * encoder's speed from a {@link ProgressWatcher}), when it plans (provisionally after the initial state, then every
 * {@code lcckpt.split.replan.steps}), and the split it asks for. With a fixed split it only passes the caller's request
 * on. Called on the sender's thread, except {@link #request} and {@link #lastPlan}.
 */
public final class SplitController {
    private static final Logger LOG = LoggerFactory.getLogger(SplitController.class);

    private final String job;
    private final boolean auto;
    private final SplitPlanner planner;
    private final int replanSteps;
    private final ProgressWatcher watcher;
    /** The registered tensors (a live view): the first plan is made for the whole model. */
    private final Collection<TensorSpec> tensors;
    private volatile Split requested;
    private volatile SplitPlanner.Plan lastPlan;
    private long stepsSincePlan;
    /** The split the last step was built with, and how many steps in a row used it. */
    private Split lastBuiltSplit;
    private int builtInARow;

    /**
     * @param split the configured split: storage, trainer or auto
     * @param watcher the encoder's progress (split=auto only; null: plan without the encoder's speed)
     */
    public SplitController(String job, String split, SplitPlanner planner, int replanSteps, ProgressWatcher watcher,
                           Collection<TensorSpec> tensors) {
        this.job = job;
        this.tensors = tensors;
        this.auto = split.equals("auto");
        this.requested = split.equals("trainer") ? Split.TRAINER : Split.STORAGE;
        this.planner = planner;
        this.replanSteps = replanSteps;
        this.watcher = watcher;
    }

    public boolean auto() {
        return auto;
    }

    /** The split a step published now asks for: the requested one, or null under split=auto (decided when it is built). */
    public Split atPublish() {
        return auto ? null : requested;
    }

    /** Asks for a split from the next step on; under split=auto the planner may change it again at its next plan. */
    public void request(Split split) {
        requested = Objects.requireNonNull(split, "split");
    }

    /** split=auto: the planner's last prediction, or null before its first. */
    public SplitPlanner.Plan lastPlan() {
        return lastPlan;
    }

    /**
     * The split to build {@code step} with. split=auto starts with both sides holding the initial state and a zero
     * residual (as split=trainer does): the first plan, made when the next step is built, then takes either split at no
     * cost, with no handover round trip (a step of 200 MB raw at 5 MB/s would otherwise be sent before the trainer could
     * take over).
     *
     * @param probe codes a chunk of the step on a scratch state (null when it cannot be coded)
     * @param current the side that codes now
     */
    public Split target(PendingStep step, Function<Map<String, Object>, StepRecords.Probe> probe, Split current) {
        if (!Double.isNaN(step.interval())) {
            planner.stepInterval(step.interval());
        }
        if (!auto) {
            return step.split() != null ? step.split() : requested;
        }
        if (step.initial()) {
            requested = Split.TRAINER;
            return Split.TRAINER;
        }
        if (lastPlan == null) {
            firstPlan(step.snapshot(), probe, current);
        }
        // the plan's latest word, also for steps that were waiting when it was made
        return requested;
    }

    /**
     * The first step after the initial state: probes the local coding on its first chunk (twice: the first runs cold) and
     * plans with that and the initial state's transfer.
     */
    private void firstPlan(Map<String, Object> values, Function<Map<String, Object>, StepRecords.Probe> probe, Split current) {
        feed(probe.apply(values));
        feed(probe.apply(values));
        if (!planner.ready()) {
            return;
        }
        // provisional (one transfer cannot see a quota's bursts, and the trainer's step time is not known yet): the next
        // plan comes two steps later instead of replanSteps
        stepsSincePlan = Math.max(0, replanSteps - 2);
        long modelValues = tensors.stream().mapToLong(TensorSpec::length).sum();
        long modelRawBytes = tensors.stream().mapToLong(spec -> (long) spec.length() * spec.width()).sum();
        adopt(planner.plan(current, modelValues, modelRawBytes));
    }

    private void feed(StepRecords.Probe probe) {
        if (probe != null) {
            planner.probe(probe.values(), probe.seconds(), probe.cpuSeconds(), probe.rawBytes(), probe.codedBytes());
        }
    }

    /**
     * split=auto: whether a step about to be built with {@code target} while {@code current} codes needs a probe of the
     * local coding: it will not be coded here, and a plan is due (none yet, or at the next plan). The probe must run
     * before the step is built, against the previous published state: after it, the step's delta is all zeros.
     */
    public boolean wantsProbe(PendingStep step, Split target, Split current) {
        boolean codedHere = current == Split.TRAINER && target == Split.TRAINER;
        return auto && !step.initial() && !codedHere && (lastPlan == null || (stepsSincePlan + 1) % replanSteps == 0);
    }

    /**
     * A step was built: what its coding cost (or the probe taken before it, see {@link #wantsProbe}), and its whole period
     * counts for the split it was built with once three steps in a row used it (the first periods after a switch still
     * carry the other split's back-pressure).
     */
    public void built(PendingStep step, StepRecords.Built built, StepRecords.Probe probe) {
        if (built.split() == Split.TRAINER) {
            planner.coding(built.values(), built.codingNanos() / 1e9, built.codingCpuNanos() / 1e9, built.rawBytes(), built.codedBytes());
        } else {
            feed(probe);
        }
        if (!auto || step.initial()) {
            lastBuiltSplit = null;
            builtInARow = 0;
            return;
        }
        builtInARow = built.split() == lastBuiltSplit ? builtInARow + 1 : 1;
        lastBuiltSplit = built.split();
        if (builtInARow >= 3 && !Double.isNaN(step.period())) {
            planner.observed(built.split(), step.period());
        }
    }

    /** A transaction committed: its chunk bytes took {@code seconds} to send under {@code split}. */
    public void transferred(Split split, long bytes, double seconds) {
        planner.transfer(split, bytes, seconds);
    }

    /** A step committed: the watcher waits for the encoder to finish it. */
    public void committed(PendingStep step, StepRecords.Built built) {
        if (watcher != null) {
            watcher.committed(step.generation(), step.step(), built.values(), built.split());
        }
    }

    /** split=auto, after a transaction of {@code steps} steps: every {@code replanSteps} steps, plans and requests the split it picks. */
    public void afterTransaction(int steps, StepRecords.Built last, Split current) {
        if (!auto) {
            return;
        }
        stepsSincePlan += steps;
        // the first plan as soon as there is enough to predict both splits, then every replanSteps steps
        if ((lastPlan != null && stepsSincePlan < replanSteps) || last.values() == 0 || !planner.ready()) {
            return;
        }
        stepsSincePlan = 0;
        if (watcher != null) {
            watcher.sample(current);
        }
        adopt(planner.plan(current, last.values(), last.rawBytes()));
    }

    /** Records a plan and requests its split for the steps built from now on. */
    private void adopt(SplitPlanner.Plan plan) {
        lastPlan = plan;
        if (plan.split() != requested) {
            LOG.info("job {}: split {} -> {} ({})", job, requested.name().toLowerCase(Locale.ROOT), plan.split().name().toLowerCase(Locale.ROOT),
                    plan.reason());
            requested = plan.split();
        }
    }

    public void close() {
        if (watcher != null) {
            watcher.close();
        }
    }
}
