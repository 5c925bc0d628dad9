package io.lccheckpoint.restorer;

import io.lccheckpoint.schema.DType;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A rebuilt step: tensors in the manifest's order, values float[] (FLOAT32, and BFLOAT16/FLOAT16 as float32 values of
 * their type) or double[] (FLOAT64), and what it cost.
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

    /**
     * A tensor's values as the chunks they were rebuilt in (float[] for FLOAT32, BFLOAT16 and FLOAT16, double[] for
     * FLOAT64, long[] for the integer dtypes and BOOL, in order): a restore then holds one copy of the model, with no
     * tensor-sized array next to its records. {@code codec} is how its chunks were coded, as the manifest lists it
     * ({@code TensorInfo.codec}: "exact", the tensor's own options, or null for the job's).
     */
    public record Tensor(String name, long[] shape, DType dtype, List<Object> chunks, String codec) {
        /** A tensor whose coding the manifest does not name (its float chunks coded with the job's options). */
        public Tensor(String name, long[] shape, DType dtype, List<Object> chunks) {
            this(name, shape, dtype, chunks, null);
        }

        /** A tensor held in one array (one chunk). */
        public static Tensor of(String name, long[] shape, DType dtype, Object values) {
            return new Tensor(name, shape, dtype, List.of(values));
        }

        public long length() {
            long length = 0;
            for (Object chunk : chunks) {
                length += java.lang.reflect.Array.getLength(chunk);
            }
            return length;
        }

        /** The values in one new array (a copy of the whole tensor: for small models and tests). */
        public float[] floats() {
            float[] values = new float[Math.toIntExact(length())];
            int offset = 0;
            for (Object chunk : chunks) {
                float[] part = (float[]) chunk;
                System.arraycopy(part, 0, values, offset, part.length);
                offset += part.length;
            }
            return values;
        }

        /**
         * An integer or bool tensor's values in one new array (a copy of the whole tensor: for small models and tests):
         * signed dtypes sign-extended, UINT8 0..255, BOOL 0 or 1.
         */
        public long[] longs() {
            long[] values = new long[Math.toIntExact(length())];
            int offset = 0;
            for (Object chunk : chunks) {
                long[] part = (long[]) chunk;
                System.arraycopy(part, 0, values, offset, part.length);
                offset += part.length;
            }
            return values;
        }

        /** The values in one new array (a copy of the whole tensor: for small models and tests). */
        public double[] doubles() {
            double[] values = new double[Math.toIntExact(length())];
            int offset = 0;
            for (Object chunk : chunks) {
                double[] part = (double[]) chunk;
                System.arraycopy(part, 0, values, offset, part.length);
                offset += part.length;
            }
            return values;
        }
    }
}
