package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.kafka.Topics;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Restore with and without pushdown (HAPI, issue #5): a job of 1M parameters trains 1,025 steps (325 with --quick) with
 * split=trainer; the restore through the index topic and a seek is compared with a naive replay and a whole-topic read,
 * and must give the same values.
 */
final class RestorePushdownExperiment {
    private final EmbeddedKafka kafka;
    private final boolean quick;

    RestorePushdownExperiment(EmbeddedKafka kafka, boolean quick) {
        this.kafka = kafka;
        this.quick = quick;
    }

    RestoreRun run() throws Exception {
        // a restore between two supersteps (the tail half an interval long), not right at one
        int steps = quick ? 325 : 1025;
        long parameters = 1_000_000;
        String prefix = "hapi-restore";
        String job = "restore-1m";
        KafkaStreams encoder = EmbeddedEncoder.start(kafka, prefix, prefix);
        try {
            long sent = train(prefix, job, parameters, steps);
            Map<String, Object> restoreConfig = new HashMap<>(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", prefix));
            // one machine, one clock: no margin for clocks that disagree (the default 1 s would span 100 of these steps)
            restoreConfig.put("lcckpt.restore.seek.margin.ms", "0");
            // the progress topic said every chunk of the last step is coded; its markers (checkpoint and index topics) are
            // written by the completion stage in a later transaction: wait (bounded) until the latest restorable step is the
            // last one. A restore that read the index before that commit and the checkpoint topic after it rebuilds the last
            // step all the same, but from a seek to an older superstep (more bytes): the measured restore comes after
            RestoredState pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (pushdown.step() < steps) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("job " + job + ": step " + steps + " was not restorable within 2 minutes (latest " + pushdown.step() + ")");
                }
                Thread.sleep(200);
                pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            }
            pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            restoreConfig.put("lcckpt.restore.pushdown", "false");
            RestoredState whole = new Restorer(restoreConfig).restore(job, steps, null);
            checkSame(job, pushdown, whole);
            RestoreRun run = new RestoreRun(steps, parameters, sent, whole.bytesRead(), whole.elapsed().toNanos() / 1e9, pushdown.bytesRead(),
                    pushdown.elapsed().toNanos() / 1e9, pushdown.superstep(), pushdown.deltasApplied());
            say("");
            say("restore after %d steps of %,d parameters (split=trainer, supersteps every 50, 3 retained): naive replay %.1f MB;"
                            + " whole retained topic %.1f MB in %.2f s; pushdown %.1f MB in %.2f s (superstep %d + %d chunk records): %.1fx fewer bytes than replay",
                    steps, parameters, run.naiveBytes() / 1e6, run.fullBytes() / 1e6, run.fullSeconds(), run.pushdownBytes() / 1e6, run.pushdownSeconds(),
                    run.superstep(), run.deltas(), run.pushdownGain());
            return run;
        } finally {
            encoder.close(Duration.ofSeconds(60));
        }
    }

    /** Publishes every step and waits until the encoder coded the last; the bytes a replay from the initial state needs. */
    private long train(String prefix, String job, long parameters, int steps) throws Exception {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.topic.prefix", prefix);
        config.put("lcckpt.job", job);
        config.put("lcckpt.split", "trainer");
        config.put("lcckpt.topic.partitions", 1);
        float[] pattern = SplitExperiment.deltaPattern(parameters);
        float[] model = pattern.clone();
        StepCompletions completion = new StepCompletions(kafka.bootstrapServers(), new Topics(prefix).encoderProgress(), job);
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            producer.registerTensor("weights", new long[] {parameters}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model));
            for (int step = 1; step <= steps; step++) {
                int shift = (int) ((step * 7_919L) % parameters);
                for (int i = 0; i < model.length; i++) {
                    int j = i + shift;
                    model[i] += pattern[j < model.length ? j : j - model.length];
                }
                Thread.sleep(10); // the trainer's compute
                producer.publish(step, Map.of("weights", model));
            }
            producer.drain();
            completion.await(steps, Duration.ofMinutes(15));
            // everything a replay from the initial state needs: the initial state and every step's coded chunks
            return producer.bytesSent();
        } finally {
            completion.close();
        }
    }

    private static void checkSame(String job, RestoredState pushdown, RestoredState whole) {
        float[] a = pushdown.tensors().get("weights").floats();
        float[] b = whole.tensors().get("weights").floats();
        if (pushdown.step() != whole.step() || !Arrays.equals(a, b)) {
            int differ = 0;
            int first = -1;
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                    differ++;
                    first = first < 0 ? i : first;
                }
            }
            throw new IllegalStateException(String.format(Locale.ROOT, "job %s: the restores with and without pushdown differ: step %d (generation %d,"
                            + " superstep %d + %d chunk records) against step %d (generation %d, superstep %d + %d); %d of %d values differ, the first at %d",
                    job, pushdown.step(), pushdown.generation(), pushdown.superstep(), pushdown.deltasApplied(), whole.step(), whole.generation(),
                    whole.superstep(), whole.deltasApplied(), differ, a.length, first));
        }
    }
}
