package io.lccheckpoint.experiments;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.eval.Trainer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The paper's overhead (its §4.5) through the real pipeline: a model's step time with and without a checkpoint at every
 * step, a KRaft broker in a child JVM and the encoder in this JVM, and the time publish() blocked.
 */
final class OverheadExperiment {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private OverheadExperiment() {
    }

    record Overhead(String model, int steps, double plainMillis, double checkpointedMillis, double blockedMillis, double plainCpuMillis,
                    double checkpointedCpuMillis) {
        /** The trainer thread's own CPU per step spent on checkpointing (publish's copies), apart from contention. */
        double cpuOverheadPercent() {
            return 100 * (checkpointedCpuMillis / plainCpuMillis - 1);
        }

        double overheadPercent() {
            return 100 * (checkpointedMillis / plainMillis - 1);
        }

        double blockedPercent() {
            return 100 * blockedMillis / checkpointedMillis;
        }
    }

    /**
     * The trainer's step time with and without a checkpoint at every step through the real pipeline (a KRaft broker in a
     * child JVM, the encoder in this JVM), and the time publish() blocked. Both runs train the same way; the plain one
     * runs twice around the checkpointed one so that warm-up and machine drift fall on both sides. The checkpointed loop
     * also copies the model's flat vector into its tensors every step (the harness's trainers keep one vector): that copy
     * counts as overhead here though a real trainer would hand over its tensors as they are.
     */
    static Overhead run(PaperEvaluation.Model model, int steps) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(java.time.Duration.ofSeconds(90))) {
            org.apache.kafka.streams.KafkaStreams encoder = EmbeddedEncoder.start(kafka, "lcckpt-eval-encoder", "lcckpt");
            try {
                double[] plainBefore = plainRun(model, steps);
                Map<String, Object> producerConfig = new java.util.HashMap<>();
                producerConfig.put("bootstrap.servers", kafka.bootstrapServers());
                producerConfig.put("lcckpt.job", "eval-overhead-" + model.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", ""));
                double checkpointed;
                double checkpointedCpu;
                double blocked;
                try (io.lccheckpoint.producer.CheckpointProducer producer = new io.lccheckpoint.producer.CheckpointProducer(producerConfig)) {
                    String[] names = model.tensors();
                    int[] offsets = model.offsets();
                    for (int k = 0; k < names.length; k++) {
                        producer.registerTensor(names[k], new long[] {offsets[k + 1] - offsets[k]}, io.lccheckpoint.schema.DType.FLOAT32);
                    }
                    Trainer trainer = model.factory().apply(5);
                    producer.publish(0, tensors(model, trainer.parameters()));
                    long start = System.nanoTime();
                    long cpuStart = THREADS.getCurrentThreadCpuTime();
                    for (int t = 1; t <= steps; t++) {
                        trainer.step();
                        producer.publish(t, tensors(model, trainer.parameters()));
                    }
                    checkpointed = (System.nanoTime() - start) / 1e6 / steps;
                    checkpointedCpu = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e6 / steps;
                    blocked = producer.timeBlocked().toNanos() / 1e6 / steps;
                    producer.drain();
                }
                double[] plainAfter = plainRun(model, steps);
                return new Overhead(model.name(), steps, (plainBefore[0] + plainAfter[0]) / 2, checkpointed, blocked,
                        (plainBefore[1] + plainAfter[1]) / 2, checkpointedCpu);
            } finally {
                encoder.close(java.time.Duration.ofSeconds(30));
            }
        }
    }

    private static Map<String, float[]> tensors(PaperEvaluation.Model model, float[] flat) {
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (int k = 0; k < model.tensors().length; k++) {
            tensors.put(model.tensors()[k], Arrays.copyOfRange(flat, model.offsets()[k], model.offsets()[k + 1]));
        }
        return tensors;
    }


    /** Wall-clock and the thread's CPU milliseconds per step, training without checkpoints. */
    private static double[] plainRun(PaperEvaluation.Model model, int steps) {
        Trainer trainer = model.factory().apply(5);
        long start = System.nanoTime();
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        for (int t = 1; t <= steps; t++) {
            trainer.step();
        }
        return new double[] {(System.nanoTime() - start) / 1e6 / steps, (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e6 / steps};
    }
}
