package io.lccheckpoint.producer.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.utils.Time;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * The trainer split codes a step's chunks on lcckpt.codec.threads threads: the records must be the same bytes, in the
 * same order, for any thread count, and a bad value must fail the step at the first refused chunk in the step's order.
 * (Logic only: no broker; the pipeline's same-bytes rule across splits is SplitIT's.)
 */
class StepRecordsTest {
    private static final int CHUNK_VALUES = 1000;
    private static final String JOB = "threads";

    @Test
    void codedStepsAreTheSameBytesOnAnyNumberOfThreads() {
        List<List<ProducerRecord<SpecificRecord, SpecificRecord>>> one = run(1, 6);
        for (int threads : new int[] {2, 3, 8}) {
            List<List<ProducerRecord<SpecificRecord, SpecificRecord>>> many = run(threads, 6);
            assertThat(many).hasSameSizeAs(one);
            for (int step = 0; step < one.size(); step++) {
                assertThat(values(many.get(step))).as("step %d on %d threads", step, threads).isEqualTo(values(one.get(step)));
            }
        }
        // the steps were coded here: each of the 18 chunks of step 3 is a codec record for the checkpoint topic
        List<EncodedChunkRecord> coded = one.get(3).stream().map(ProducerRecord::value)
                .filter(EncodedChunkRecord.class::isInstance).map(EncodedChunkRecord.class::cast).toList();
        assertThat(coded).hasSize(18);
        assertThat(coded).allSatisfy(record -> assertThat(record.getCodec().get(0)).isEqualTo((byte) 'L'));
    }

    @Test
    void aBadValueFailsTheStepAtTheFirstRefusedChunkInOrder() {
        List<TensorSpec> tensors = tensors();
        try (TrainerCoder coder = new TrainerCoder(CodecOptions.paper(2), 3, JOB)) {
            StepRecords records = records(tensors, coder, false);
            Map<String, Object> state = initial(tensors, new Random(7));
            records.build(step(0, state, true), Split.TRAINER);
            Map<String, Object> next = next(state, new Random(8));
            float[] weights = (float[]) next.get("w");
            weights[7 * CHUNK_VALUES + 5] = Float.NaN;
            weights[2 * CHUNK_VALUES + 9] = Float.POSITIVE_INFINITY;
            assertThatThrownBy(() -> records.build(step(1, next, false), Split.TRAINER))
                    .isInstanceOf(KafkaException.class)
                    .hasMessageContaining("job threads, step 1, tensor w, chunk 2: cannot code the delta");
        }
    }

    private static List<List<ProducerRecord<SpecificRecord, SpecificRecord>>> run(int threads, int steps) {
        List<TensorSpec> tensors = tensors();
        List<List<ProducerRecord<SpecificRecord, SpecificRecord>>> out = new ArrayList<>();
        try (TrainerCoder coder = new TrainerCoder(CodecOptions.paper(2), threads, JOB)) {
            StepRecords records = records(tensors, coder, true);
            Random random = new Random(42);
            Map<String, Object> state = initial(tensors, random);
            out.add(records.build(step(0, state, true), Split.TRAINER).records());
            for (int step = 1; step < steps; step++) {
                state = next(state, random);
                StepRecords.Built built = records.build(step(step, state, false), Split.TRAINER);
                assertThat(built.split()).isEqualTo(Split.TRAINER);
                List<ProducerRecord<SpecificRecord, SpecificRecord>> all = new ArrayList<>(built.records());
                built.stored().forEach(stored -> all.add(stored.record()));
                out.add(all);
            }
        }
        return out;
    }

    /** Keys and values (Avro records compare field by field, their byte buffers by content), in order. */
    private static List<Object> values(List<ProducerRecord<SpecificRecord, SpecificRecord>> records) {
        List<Object> out = new ArrayList<>();
        for (ProducerRecord<SpecificRecord, SpecificRecord> record : records) {
            out.add(record.topic());
            out.add(record.key());
            out.add(record.value());
        }
        return out;
    }

    private static List<TensorSpec> tensors() {
        return List.of(
                new TensorSpec("w", new long[] {10, 1000}, DType.FLOAT32, 10_000, 10, null, false),
                new TensorSpec("m", new long[] {2500}, DType.FLOAT32, 2500, 3, CodecOptions.zeroRun(3), false),
                new TensorSpec("d", new long[] {1500}, DType.FLOAT64, 1500, 2, null, false),
                new TensorSpec("h", new long[] {1200}, DType.BFLOAT16, 1200, 2, null, false),
                new TensorSpec("n", new long[] {300}, DType.INT64, 300, 1, null, true));
    }

    private static StepRecords records(List<TensorSpec> tensors, TrainerCoder coder, boolean writeCheckpoints) {
        return new StepRecords(JOB, "raw", "checkpoints", CHUNK_VALUES, writeCheckpoints, tensors, coder, key -> 0, Time.SYSTEM);
    }

    private static PendingStep step(long step, Map<String, Object> snapshot, boolean initial) {
        return new PendingStep(1, null, step, snapshot, initial, new CompletableFuture<>(), 0, Double.NaN, Double.NaN, Split.TRAINER);
    }

    private static Map<String, Object> initial(List<TensorSpec> tensors, Random random) {
        Map<String, Object> state = new LinkedHashMap<>();
        for (TensorSpec spec : tensors) {
            state.put(spec.name(), switch (spec.dtype()) {
                case FLOAT64 -> random.doubles(spec.length()).toArray();
                case INT64 -> random.longs(spec.length(), 0, 100).toArray();
                default -> floats(spec.length(), random, 1, spec.dtype() == DType.BFLOAT16);
            });
        }
        return state;
    }

    /** The state after one SGD-like step: small gaussian changes over several scales. */
    private static Map<String, Object> next(Map<String, Object> state, Random random) {
        Map<String, Object> next = new LinkedHashMap<>();
        state.forEach((name, value) -> {
            if (value instanceof float[] f) {
                float[] delta = floats(f.length, random, 1e-3, false);
                float[] out = new float[f.length];
                for (int i = 0; i < f.length; i++) {
                    out[i] = name.equals("h") ? bfloat16(f[i] + delta[i]) : f[i] + delta[i];
                }
                next.put(name, out);
            } else if (value instanceof double[] d) {
                double[] out = d.clone();
                for (int i = 0; i < out.length; i++) {
                    out[i] += random.nextGaussian() * 1e-4;
                }
                next.put(name, out);
            } else {
                long[] out = ((long[]) value).clone();
                out[random.nextInt(out.length)]++;
                next.put(name, out);
            }
        });
        return next;
    }

    private static float[] floats(int n, Random random, double scale, boolean bfloat16) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) (random.nextGaussian() * scale * Math.pow(10, -(i / 500 % 4)));
            out[i] = bfloat16 ? bfloat16(v) : v;
        }
        return out;
    }

    private static float bfloat16(float v) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xFFFF_0000);
    }
}
