package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.codec.CodecOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The seconds-long smoke test of the evaluation harness CI runs: schemes wired, sizes matched, rework counted. */
class ReworkHarnessTest {

    @Test
    void schemesAreWiredAndSizesMatched() {
        FashionMnist data = FashionMnist.synthetic(3000, 4);
        ReworkExperiment experiment = new ReworkExperiment(data, data, 300, 200);
        int parameters = 10 * 784 + 10;
        long budget = (long) (0.05 * 4 * parameters);
        int[] failures = {30, 45};
        long[] seeds = {1};
        List<ReworkExperiment.Result> results = List.of(
                experiment.run(() -> new FullCheckpoint(20), failures, seeds),
                experiment.run(() -> new SparseCheckpoint(SparseCheckpoint.Mode.SCAR, budget), failures, seeds),
                experiment.run(() -> new SparseCheckpoint(SparseCheckpoint.Mode.TOPN, budget), failures, seeds),
                experiment.run(() -> new LcCheckpoint("LC 2-bit", CodecOptions.paper(2), 4096), failures, seeds));
        for (ReworkExperiment.Result result : results) {
            assertThat(result.reworks()).hasSize(2);
            assertThat(result.reworks()).allSatisfy(r -> assertThat(r).isBetween(0, 200));
        }
        // matched sizes: the partial schemes use their whole 5% budget, full every 20 averages 5% (it wrote at 20 and 40:
        // 1 and 2 copies over 30 and 45 iterations), LC stays at or under the budget
        assertThat(results.get(1).fractionOfFull()).isCloseTo(0.05, org.assertj.core.data.Offset.offset(0.002));
        assertThat(results.get(2).fractionOfFull()).isCloseTo(0.05, org.assertj.core.data.Offset.offset(0.002));
        assertThat(results.get(0).fractionOfFull()).isCloseTo(3.0 / 75, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(results.get(3).fractionOfFull()).isLessThanOrEqualTo(0.05).isPositive();
        // a full checkpoint every 20 loses the iterations since the last one, so at 45 it must redo work
        assertThat(results.get(0).reworks().get(1)).isPositive();
    }

    @Test
    void schemesRidingOneRunGiveWhatSeparateRunsGiveOnAnyNumberOfThreads() {
        FashionMnist data = FashionMnist.synthetic(2000, 5);
        java.util.function.LongFunction<Trainer> trainers = seed -> new LogisticRegression(data, seed, 32, 0.05f).evaluatingOn(data, 200);
        int[] failures = {37, 23};
        long[] seeds = {3, 4};
        List<java.util.function.Supplier<CheckpointScheme>> schemes = List.of(() -> new FullCheckpoint(10),
                () -> new SparseCheckpoint(SparseCheckpoint.Mode.SCAR, 2000), () -> new LcCheckpoint("LC", CodecOptions.zeroRun(2), 4096));
        List<ReworkExperiment.Result> oneThread = new ReworkExperiment(trainers, 150, 1).runAll(schemes, failures, seeds);
        List<ReworkExperiment.Result> threeThreads = new ReworkExperiment(trainers, 150, 3).runAll(schemes, failures, seeds);
        for (int s = 0; s < schemes.size(); s++) {
            ReworkExperiment.Result alone = new ReworkExperiment(trainers, 150, 2).run(schemes.get(s), failures, seeds);
            assertThat(oneThread.get(s)).isEqualTo(alone);
            assertThat(threeThreads.get(s)).isEqualTo(alone);
        }
        // failure points are taken in ascending order; full every 10 restores 20 at 23 and 30 at 37, so both need work
        assertThat(oneThread.get(0).reworks()).hasSize(4).allSatisfy(r -> assertThat(r).isPositive());
    }
}
