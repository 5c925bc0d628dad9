package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Each scheme writes what it says, within its budget, and restores exactly what it saved. */
class CheckpointSchemesTest {
    private static final int N = 5000;

    /** A run: initial state and 30 SGD-like iterations. */
    private static List<float[]> run() {
        SplittableRandom random = new SplittableRandom(9);
        List<float[]> states = new ArrayList<>();
        float[] u = new float[N];
        for (int i = 0; i < N; i++) {
            u[i] = (float) random.nextGaussian();
        }
        states.add(u.clone());
        for (int t = 1; t <= 30; t++) {
            for (int i = 0; i < N; i++) {
                u[i] += (float) (random.nextGaussian() * (i % 10 == 0 ? 1e-2 : 1e-4));
            }
            states.add(u.clone());
        }
        return states;
    }

    @Test
    void fullCheckpointsRestoreTheLastMultipleExactly() {
        List<float[]> states = run();
        FullCheckpoint full = new FullCheckpoint(7);
        full.start(states.get(0));
        long bytes = 0;
        for (int t = 1; t <= 30; t++) {
            bytes += full.checkpoint(t, states.get(t));
        }
        assertThat(bytes).isEqualTo(4L * 4 * N);
        assertThat(full.restoredIteration()).isEqualTo(28);
        assertThat(full.restore()).containsExactly(states.get(28));
    }

    @Test
    void scarSavesTheMostChangedParametersWithinTheBudgetAndRestoresThem() {
        List<float[]> states = run();
        long budget = 4 + 8 * 250;
        SparseCheckpoint scar = new SparseCheckpoint(SparseCheckpoint.Mode.SCAR, budget);
        scar.start(states.get(0));
        float[] expected = states.get(0).clone();
        for (int t = 1; t <= 30; t++) {
            int[] chosen = SparseCheckpoint.largest(states.get(t), expected, 250);
            for (int index : chosen) {
                expected[index] = states.get(t)[index];
            }
            assertThat(scar.checkpoint(t, states.get(t))).isLessThanOrEqualTo(budget).isEqualTo(budget);
        }
        assertThat(scar.entries()).isEqualTo(250);
        assertThat(scar.restore()).containsExactly(expected);
        // every saved value is one the model really had
        float[] restored = scar.restore();
        int exact = 0;
        for (int i = 0; i < N; i++) {
            exact += restored[i] == states.get(30)[i] ? 1 : 0;
        }
        assertThat(exact).isGreaterThanOrEqualTo(250);
    }

    @Test
    void topnKeepsTheLargestEntriesOfEachDeltaAndLosesTheRest() {
        List<float[]> states = run();
        long budget = 4 + 8 * 100;
        SparseCheckpoint topn = new SparseCheckpoint(SparseCheckpoint.Mode.TOPN, budget);
        topn.start(states.get(0));
        float[] expected = states.get(0).clone();
        for (int t = 1; t <= 30; t++) {
            int[] chosen = SparseCheckpoint.largest(states.get(t), states.get(t - 1), 100);
            for (int index : chosen) {
                expected[index] += states.get(t)[index] - states.get(t - 1)[index];
            }
            assertThat(topn.checkpoint(t, states.get(t))).isEqualTo(budget);
        }
        assertThat(topn.restore()).containsExactly(expected);
    }

    @Test
    void lcRestoresTheCodecsReconstructionBitForBitAndCountsItsRecords() {
        List<float[]> states = run();
        LcCheckpoint lc = new LcCheckpoint("LC 2-bit", CodecOptions.paper(2), 2000);
        lc.start(states.get(0));
        ChunkEncoder encoder = new ChunkEncoder(CodecOptions.paper(2));
        ChunkState[] reference = new ChunkState[3];
        for (int c = 0; c < 3; c++) {
            float[] part = new float[Math.min(2000, N - 2000 * c)];
            System.arraycopy(states.get(0), 2000 * c, part, 0, part.length);
            reference[c] = ChunkState.float32(part);
        }
        for (int t = 1; t <= 30; t++) {
            long expectedBytes = 0;
            for (int c = 0; c < 3; c++) {
                float[] delta = new float[reference[c].size()];
                for (int i = 0; i < delta.length; i++) {
                    delta[i] = states.get(t)[2000 * c + i] - states.get(t - 1)[2000 * c + i];
                }
                expectedBytes += encoder.encode(delta, reference[c]).record().length;
            }
            assertThat(lc.checkpoint(t, states.get(t))).isEqualTo(expectedBytes);
        }
        float[] restored = lc.restore();
        for (int c = 0; c < 3; c++) {
            float[] part = new float[reference[c].size()];
            System.arraycopy(restored, 2000 * c, part, 0, part.length);
            assertThat(part).containsExactly(reference[c].approxFloat());
        }
        assertThat(lc.restoredIteration()).isEqualTo(30);
    }
}
