package io.lccheckpoint.producer;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.producer.SplitPlanner.Split;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class SplitPlannerTest {
    private static final long VALUES = 10_000_000;
    private static final long RAW = 4 * VALUES;

    /** A planner that has seen transfers over a link of the given bandwidth and latency, and local coding at 150 M values/s. */
    private static SplitPlanner planner(double bytesPerSecond, double latency, double stepSeconds, double budget) {
        SplitPlanner planner = link(bytesPerSecond, latency, stepSeconds, budget);
        planner.coding(131_072, 131_072 / 150e6, 4 * 131_072, 4 * 131_072 / 30);
        return planner;
    }

    /** The same without any coding measured yet. */
    private static SplitPlanner link(double bytesPerSecond, double latency, double stepSeconds, double budget) {
        SplitPlanner planner = new SplitPlanner(budget, 0.1);
        planner.stepInterval(stepSeconds);
        for (long bytes : new long[] {RAW, RAW / 30, RAW, RAW / 30, RAW}) {
            planner.transfer(bytes, latency + bytes / bytesPerSecond);
        }
        return planner;
    }

    /** Three periods observed under {@code split}: enough for the planner to count them. */
    private static void observeThree(SplitPlanner planner, Split split, double seconds) {
        for (int k = 0; k < 3; k++) {
            planner.observed(split, seconds);
        }
    }

    @Test
    void aSlowLinkMakesTheTrainerCode() {
        SplitPlanner.Plan plan = planner(5e6, 0.01, 0.2, 1.0).plan(Split.STORAGE, VALUES, RAW);
        assertThat(plan.split()).isEqualTo(Split.TRAINER);
        // storage: 40 MB at 5 MB/s; trainer: 67 ms coding + 1.3 MB at 5 MB/s
        assertThat(plan.storageSeconds()).isCloseTo(8.01, Offset.offset(0.05));
        assertThat(plan.trainerSeconds()).isCloseTo(0.0667 + 0.01 + RAW / 30 / 5e6, Offset.offset(0.02));
    }

    @Test
    void aFastLinkAndLongStepsLeaveTheCodingToTheStorageSide() {
        // 1 GB/s: sending raw takes 40 ms, coding 67 ms; both hide under a 500 ms step, so nothing to gain by switching
        SplitPlanner.Plan plan = planner(1e9, 0.002, 0.5, 1.0).plan(Split.STORAGE, VALUES, RAW);
        assertThat(plan.split()).isEqualTo(Split.STORAGE);
        assertThat(plan.storageSeconds()).isEqualTo(plan.trainerSeconds());
        // and with short steps the one that keeps up is storage: coding 67 ms is slower than sending 42 ms
        assertThat(planner(1e9, 0.002, 0.01, 1.0).plan(Split.TRAINER, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
    }

    @Test
    void theCpuBudgetRulesTheTrainerOut() {
        // coding takes 67 ms of a 200 ms step: over a 25% budget
        SplitPlanner.Plan plan = planner(5e6, 0.01, 0.2, 0.25).plan(Split.TRAINER, VALUES, RAW);
        assertThat(plan.trainerWithinBudget()).isFalse();
        assertThat(plan.split()).isEqualTo(Split.STORAGE);
    }

    @Test
    void theFirstColdStepsCodedAfterASwitchDoNotRuleTheTrainerOut() {
        // steady state: 90 ms of CPU per 200 ms step; the first two steps after the switch ran cold at 225 and 160 ms,
        // over a budget of 100 ms (0.5 of a core). The least recent CPU figure is the steady one
        SplitPlanner planner = link(5e6, 0.01, 0.2, 0.5);
        planner.coding(VALUES, 0.7, 0.225, RAW, RAW / 400);
        planner.coding(VALUES, 0.4, 0.160, RAW, RAW / 400);
        assertThat(planner.plan(Split.TRAINER, VALUES, RAW).trainerWithinBudget()).isFalse();
        planner.coding(VALUES, 0.1, 0.090, RAW, RAW / 400);
        SplitPlanner.Plan plan = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(plan.trainerWithinBudget()).isTrue();
        assertThat(plan.split()).isEqualTo(Split.TRAINER);
        // wall time: the median of the window (0.4 s, not the cold 0.7 s nor the last 0.1 s) plus the send
        assertThat(plan.trainerSeconds()).isCloseTo(0.4 + 0.01 + RAW / 400 / 5e6, Offset.offset(0.02));
    }

    @Test
    void leavingTheTrainerForTheBudgetTakesTheHysteresisMargin() {
        // 105 ms of CPU per 200 ms step against a budget of 100 ms: over it, but within the 10% margin once coding here
        SplitPlanner planner = link(5e6, 0.01, 0.2, 0.5);
        planner.coding(VALUES, 0.12, 0.105, RAW, RAW / 400);
        assertThat(planner.plan(Split.TRAINER, VALUES, RAW).split()).isEqualTo(Split.TRAINER);
        assertThat(planner.plan(Split.STORAGE, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
        planner.coding(VALUES, 0.12, 0.115, RAW, RAW / 400);
        planner.coding(VALUES, 0.12, 0.115, RAW, RAW / 400);
        planner.coding(VALUES, 0.12, 0.115, RAW, RAW / 400);
        planner.coding(VALUES, 0.12, 0.115, RAW, RAW / 400);
        planner.coding(VALUES, 0.12, 0.115, RAW, RAW / 400);
        assertThat(planner.plan(Split.TRAINER, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
    }

    @Test
    void whatTheModelCannotSeeShowsInTheObservedPeriods() {
        // a fast link and 100 ms of coding under a 200 ms step: the model calls it a tie. Run under each split, the steps
        // took 200 ms (storage) and 250 ms (trainer: coding competes with the broker and encoder for the cores)
        SplitPlanner planner = link(1e9, 0.002, 0.2, 1.0);
        planner.coding(VALUES, 0.1, 0.09, RAW, RAW / 400);
        assertThat(planner.plan(Split.STORAGE, VALUES, RAW).storageSeconds()).isEqualTo(0.2);
        for (int i = 0; i < 3; i++) {
            planner.observed(Split.STORAGE, 0.2);
            planner.observed(Split.TRAINER, 0.25);
        }
        SplitPlanner.Plan plan = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(plan.trainerSeconds()).isEqualTo(0.25);
        assertThat(plan.split()).isEqualTo(Split.STORAGE);
        assertThat(planner.plan(Split.STORAGE, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
        // the trainer's periods go stale after a few plans without a step under it: the model alone speaks for it again
        for (int i = 0; i < SplitPlanner.OBSERVED_PLANS; i++) {
            planner.observed(Split.STORAGE, 0.2);
            planner.plan(Split.STORAGE, VALUES, RAW);
        }
        assertThat(planner.plan(Split.STORAGE, VALUES, RAW).trainerSeconds()).isEqualTo(0.2);
        // fewer than three periods are not a figure yet
        SplitPlanner fresh = link(1e9, 0.002, 0.2, 1.0);
        fresh.coding(VALUES, 0.1, 0.09, RAW, RAW / 400);
        fresh.observed(Split.TRAINER, 0.9);
        fresh.observed(Split.TRAINER, 0.9);
        assertThat(fresh.plan(Split.TRAINER, VALUES, RAW).trainerSeconds()).isEqualTo(0.2);
    }

    @Test
    void manySmallCodedTransfersDoNotHideWhatARawStepCosts() {
        // two raw steps at 5 MB/s, then 40 coded ones of 100 KB (latency-bound): a raw step still costs ~8 s
        SplitPlanner planner = new SplitPlanner(1.0, 0.1);
        planner.stepInterval(0.2);
        planner.transfer(Split.STORAGE, RAW, 0.01 + RAW / 5e6);
        planner.transfer(Split.STORAGE, RAW, 0.01 + RAW / 5e6);
        for (int i = 0; i < 40; i++) {
            planner.transfer(Split.TRAINER, 100_000, 0.006 + (i % 3) * 0.001);
        }
        planner.coding(VALUES, 0.07, 0.06, RAW, RAW / 400);
        SplitPlanner.Plan plan = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(plan.storageSeconds()).isCloseTo(8.0, Offset.offset(0.5));
        assertThat(plan.split()).isEqualTo(Split.TRAINER);
    }

    @Test
    void anEncoderTooSlowForTheTrainerSplitIsAtLeastAsSlowForTheStorageSplit() {
        // measured only while the trainer coded: the encoder applies 50M values in 3.3 s. The storage split, never
        // measured, would make it code them too: not a way out
        SplitPlanner planner = planner(1e9, 0.002, 1.0, 1.0);
        planner.encoder(Split.TRAINER, 3.3 / VALUES);
        SplitPlanner.Plan plan = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(plan.storageSeconds()).isGreaterThanOrEqualTo(plan.trainerSeconds());
        assertThat(plan.split()).isEqualTo(Split.TRAINER);
    }

    @Test
    void aSlowEncoderMakesTheTrainerCodeEvenOnAFastLink() {
        SplitPlanner planner = planner(1e9, 0.002, 0.1, 1.0);
        planner.encoder(Split.STORAGE, 1 / 20e6); // the encoder codes 20 M values/s: 500 ms a step
        planner.encoder(Split.TRAINER, 1 / 200e6);
        assertThat(planner.plan(Split.STORAGE, VALUES, RAW).split()).isEqualTo(Split.TRAINER);
    }

    @Test
    void hysteresisKeepsTheCurrentSplitWhenTheGainIsSmall() {
        // trainer predicted ~2% faster than storage: not worth a switch either way
        SplitPlanner planner = new SplitPlanner(2.0, 0.1);
        planner.stepInterval(0.03);
        planner.transfer(RAW, RAW / 1e9);
        planner.transfer(RAW, RAW / 1e9);
        planner.coding(VALUES, 0.038, RAW, RAW / 30);
        SplitPlanner.Plan fromStorage = planner.plan(Split.STORAGE, VALUES, RAW);
        SplitPlanner.Plan fromTrainer = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(fromStorage.trainerSeconds()).isLessThan(fromStorage.storageSeconds());
        assertThat(fromStorage.split()).isEqualTo(Split.STORAGE);
        assertThat(fromTrainer.split()).isEqualTo(Split.TRAINER);
    }

    @Test
    void theFirstPlanBeforeTheStepTimeIsKnownMovesOnlyForTheBudget() {
        // a quota's burst made the initial state look fast: the pipeline alone predicts storage 3x faster, but the trainer's
        // own compute, not known yet, may hide both. The provisional plan keeps the trainer split
        SplitPlanner planner = new SplitPlanner(1.0, 0.1);
        planner.transfer(Split.TRAINER, RAW, RAW / 480e6);
        planner.probe(131_072, 131_072 / 40e6, 131_072 / 40e6, 4 * 131_072, 4 * 131_072 / 30);
        SplitPlanner.Plan plan = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(plan.storageSeconds() * 2).isLessThan(plan.trainerSeconds());
        assertThat(plan.split()).isEqualTo(Split.TRAINER);
        // a budget it cannot keep moves it at once
        SplitPlanner tight = new SplitPlanner(0.1, 0.1);
        tight.transfer(Split.TRAINER, RAW, RAW / 480e6);
        tight.probe(131_072, 131_072 / 40e6, 131_072 / 40e6, 4 * 131_072, 4 * 131_072 / 30);
        assertThat(tight.plan(Split.TRAINER, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
    }

    @Test
    void aSplitNotObservedRecentlyMustWinByTwiceTheMargin() {
        // storage predicted 15% faster than the trainer split the job runs: more than the 10% margin, less than twice it
        SplitPlanner planner = new SplitPlanner(2.0, 0.1);
        planner.stepInterval(0.2);
        planner.transfer(Split.STORAGE, RAW, RAW / 1e9);
        planner.transfer(Split.TRAINER, RAW / 30, RAW / 30 / 1e9);
        planner.coding(VALUES, 0.23, RAW, RAW / 30);
        SplitPlanner.Plan unseen = planner.plan(Split.TRAINER, VALUES, RAW);
        assertThat(unseen.trainerSeconds() / unseen.storageSeconds()).isBetween(1.1, 1.2);
        assertThat(unseen.split()).isEqualTo(Split.TRAINER);
        // once storage has run recently and was observed at what the model predicts, the plain margin applies
        observeThree(planner, Split.STORAGE, 0.2);
        assertThat(planner.plan(Split.TRAINER, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
    }

    @Test
    void whatSlowsTheObservedSplitIsAssumedToSlowTheOtherToo() {
        // from the full run at 50M parameters and 100 MB/s: the trainer split observed at 1.35 s per step against a
        // 1.10 s model (cores shared with broker and encoder); storage, not observed, modelled at the step time. Held
        // against the raw model it looked 23% faster, and the switch cost 7.7 s per step. Scaled alike, it gains nothing
        SplitPlanner planner = new SplitPlanner(1.0, 0.1);
        planner.stepInterval(1.1);
        planner.transfer(Split.TRAINER, 5 * RAW, 5 * RAW / 280e6);
        planner.transfer(Split.TRAINER, 5 * RAW / 230, 0.02);
        planner.coding(5 * VALUES, 0.52, 0.37, 5 * RAW, 5 * RAW / 230);
        observeThree(planner, Split.TRAINER, 1.35);
        SplitPlanner.Plan plan = planner.plan(Split.TRAINER, 5 * VALUES, 5 * RAW);
        assertThat(plan.trainerSeconds()).isEqualTo(1.35);
        assertThat(plan.storageSeconds()).isCloseTo(1.35, Offset.offset(0.01));
        assertThat(plan.split()).isEqualTo(Split.TRAINER);
        // a split really slower than its model for its own reason (coding that does not fit in the step) still loses
        SplitPlanner slowCoding = new SplitPlanner(2.0, 0.1);
        slowCoding.stepInterval(0.2);
        slowCoding.transfer(Split.TRAINER, RAW, RAW / 1e9);
        slowCoding.transfer(Split.TRAINER, RAW / 30, 0.001);
        slowCoding.coding(VALUES, 0.5, RAW, RAW / 30);
        observeThree(slowCoding, Split.TRAINER, 0.55);
        assertThat(slowCoding.plan(Split.TRAINER, VALUES, RAW).split()).isEqualTo(Split.STORAGE);
    }

    @Test
    void theSendModelIsFittedFromBothSplitsTransfers() {
        SplitPlanner planner = new SplitPlanner(1.0, 0.1);
        planner.transfer(1_000_000, 0.05 + 1_000_000 / 25e6);
        planner.transfer(40_000_000, 0.05 + 40_000_000 / 25e6);
        planner.transfer(2_000_000, 0.05 + 2_000_000 / 25e6);
        double[] fit = planner.fit();
        assertThat(fit[0]).isCloseTo(0.05, Offset.offset(1e-6));
        assertThat(1 / fit[1]).isCloseTo(25e6, Offset.offset(1.0));
        assertThat(planner.ready()).isFalse();
    }
}
