package io.lccheckpoint.restorer;

import io.lccheckpoint.schema.DType;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A rebuilt step: tensors in the manifest's order, values float[] (FLOAT32) or double[] (FLOAT64), and what it cost.
 *
 * @param recordsRead    records consumed from the job's checkpoint topic
 * @param bytesRead      their key and value bytes
 * @param superstep      the superstep the chunks started from
 * @param deltasApplied  encoded chunk records applied on top of it
 * @param passedOver     what the restore had to go around, in words: newer steps it could not restore (for the latest
 *                       step) and corrupt supersteps it rebuilt past from an older one; empty when nothing was wrong
 * @param digest         the step's content digest recomputed from what was rebuilt (StepDigest), checked against the
 *                       marker's when the encoder recorded one
 */
public record RestoredState(String job, long generation, long step, Map<String, Tensor> tensors, long recordsRead, long bytesRead,
                            long superstep, long deltasApplied, Duration elapsed, List<String> passedOver,
                            long digest) {

    public record Tensor(String name, long[] shape, DType dtype, Object values) {
        public float[] floats() {
            return (float[]) values;
        }

        public double[] doubles() {
            return (double[]) values;
        }
    }
}
