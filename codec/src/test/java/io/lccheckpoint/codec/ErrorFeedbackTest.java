package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

/**
 * The error-feedback invariant of DESIGN.md §2.1 over T ≥ 100 steps: {@code u_T − ũ_T = r_T}. In float arithmetic
 * the codec rounds twice per step ({@code δ = d + r} and {@code ũ + Q(δ)}; {@code r = δ − Q(δ)} is exact because
 * Q(δ) lies in δ's binade). So the test keeps the true state u exactly (BigDecimal), measures each rounding exactly,
 * and checks element by element that {@code u_T − ũ_T − r_T} equals minus the sum of those roundings — to the last
 * bit, not within a tolerance — and that each rounding is within IEEE's half ulp (no hidden lossy step).
 */
class ErrorFeedbackTest {
    private static final int STEPS = 120;
    private static final int N = 2000;

    @Test
    void trueStateMinusReconstructionIsTheCarriedResidualExactly() {
        for (CodecOptions options : new CodecOptions[] {CodecOptions.paper(2), CodecOptions.zeroRun(3), CodecOptions.exponentOnly()}) {
            Corpus corpus = new Corpus(2024);
            float[] initial = corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, N);
            ChunkState state = ChunkState.float32(initial);
            ChunkEncoder encoder = new ChunkEncoder(options);
            BigDecimal[] trueState = new BigDecimal[N];
            BigDecimal[] roundingSum = new BigDecimal[N];
            BigDecimal[] roundingBound = new BigDecimal[N];
            for (int i = 0; i < N; i++) {
                trueState[i] = exact(initial[i]);
                roundingSum[i] = BigDecimal.ZERO;
                roundingBound[i] = BigDecimal.ZERO;
            }
            for (int step = 0; step < STEPS; step++) {
                float[] delta = corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, N);
                float[] residualBefore = state.residualFloat().clone();
                float[] approxBefore = state.approxFloat().clone();
                encoder.encode(delta, state);
                for (int i = 0; i < N; i++) {
                    trueState[i] = trueState[i].add(exact(delta[i]));
                    float sum = delta[i] + residualBefore[i];
                    BigDecimal sumRounding = exact(sum).subtract(exact(delta[i]).add(exact(residualBefore[i])));
                    float quantized = sum - state.residualFloat()[i];
                    // r = δ − Q(δ) exactly: Q(δ) is recovered exactly from the float subtraction
                    assertThat(exact(sum).subtract(exact(quantized))).isEqualByComparingTo(exact(state.residualFloat()[i]));
                    BigDecimal approxRounding = exact(state.approxFloat()[i]).subtract(exact(approxBefore[i]).add(exact(quantized)));
                    roundingSum[i] = roundingSum[i].add(sumRounding).add(approxRounding);
                    roundingBound[i] = roundingBound[i].add(exact(Math.ulp(sum) / 2)).add(exact(Math.ulp(state.approxFloat()[i]) / 2));
                }
            }
            int elementsWithRounding = 0;
            for (int i = 0; i < N; i++) {
                BigDecimal gap = trueState[i].subtract(exact(state.approxFloat()[i])).subtract(exact(state.residualFloat()[i]));
                assertThat(gap).as("element %d with %s", i, options).isEqualByComparingTo(roundingSum[i].negate());
                assertThat(roundingSum[i].abs()).isLessThanOrEqualTo(roundingBound[i]);
                elementsWithRounding += roundingSum[i].signum() != 0 ? 1 : 0;
            }
            // the identity is not vacuous: float roundings did happen and are accounted for exactly
            assertThat(elementsWithRounding).as("elements with a rounding, %s", options).isPositive();
        }
    }

    @Test
    void nothingIsDroppedForGoodWhatAStepDoesNotSendIsSentLater() {
        // a constant small push next to one large value: 1-bit promotion keeps only the top bucket, so the small ones
        // are zeroed at first; their residual accumulates until it reaches the top bucket (after ~1000 steps) and is sent
        int n = 64;
        float[] initial = new float[n];
        ChunkState state = ChunkState.float32(initial);
        ChunkEncoder encoder = new ChunkEncoder(CodecOptions.paper(1));
        double[] truth = new double[n];
        for (int step = 0; step < 1500; step++) {
            float[] delta = new float[n];
            for (int i = 0; i < n; i++) {
                delta[i] = i == 0 ? 1.0f : 1e-3f;
                truth[i] += delta[i];
            }
            encoder.encode(delta, state);
        }
        for (int i = 1; i < n; i++) {
            assertThat(truth[i] - state.approxFloat()[i]).isEqualTo(state.residualFloat()[i], org.assertj.core.data.Offset.offset(1e-3));
            assertThat(state.approxFloat()[i]).as("small element %d was sent", i).isGreaterThan(0.9f);
            assertThat(Math.abs(state.residualFloat()[i])).isLessThan(2f);
        }
    }

    private static BigDecimal exact(float value) {
        return new BigDecimal(value);
    }
}
