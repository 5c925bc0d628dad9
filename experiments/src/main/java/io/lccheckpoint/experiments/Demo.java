package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import io.lccheckpoint.embedded.BrokerBytes;
import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.embedded.TempDirectories;
import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.eval.LogisticRegression;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.restorer.SafetensorsWriter;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.StepComplete;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The embedded default (DESIGN.md §7): a real KRaft broker on 127.0.0.1, the exactly-once encoder, and a pure-Java
 * trainer (logistic regression on Fashion-MNIST, or synthetic data without the package) checkpointing every step;
 * the trainer crashes, the latest complete step is restored, training resumes, and the figures are printed, with the
 * bytes the broker wrote per step by kind of topic ({@link BrokerBytes}).
 */
public final class Demo {
    private static final String JOB = "demo";
    private static final String APPLICATION_ID = "lcckpt-demo-encoder";
    private static final float LEARNING_RATE = 0.05f;

    /**
     * Steps in all, the step after which the trainer dies, the least time a step takes (ms), the full-checkpoint interval
     * compared with, the encoder's superstep policy and interval, promotion bits, the Fashion-MNIST directory (synthetic
     * data without it) and where the restored model goes.
     */
    public record Options(int steps, int crashAt, int stepMillis, int fullEvery, String superstepPolicy, int superstepInterval, int promotionBits,
                          Path dataset, Path out) {
    }

    private final int steps;
    private final int crashAt;
    private final int stepMillis;
    private final int fullEvery;
    private final String superstepPolicy;
    private final int superstepInterval;
    private final int promotionBits;
    private final Path dataset;
    private final Path out;

    public Demo(Options options) {
        this.steps = options.steps();
        this.crashAt = options.crashAt();
        this.stepMillis = options.stepMillis();
        this.fullEvery = options.fullEvery();
        this.superstepPolicy = options.superstepPolicy();
        this.superstepInterval = options.superstepInterval();
        this.promotionBits = options.promotionBits();
        this.dataset = options.dataset();
        this.out = options.out();
    }

    public void run() throws Exception {
        if (crashAt < 1 || crashAt >= steps) {
            throw new IllegalArgumentException("--crash-at must be between 1 and --steps - 1");
        }
        FashionMnist train;
        FashionMnist test;
        if (FashionMnist.available(dataset)) {
            train = FashionMnist.load(dataset, false);
            test = FashionMnist.load(dataset, true);
            say("data: Fashion-MNIST from %s (%d training, %d test images)", dataset, train.labels().length, test.labels().length);
        } else {
            train = FashionMnist.synthetic(20_000, 1);
            test = FashionMnist.synthetic(2_000, 2);
            say("data: synthetic (Fashion-MNIST not in %s; 'apt-get install -y dataset-fashion-mnist' for the real one)", dataset);
        }
        long started = System.nanoTime();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90)); BrokerBytes brokerBytes = kafka.brokerBytes()) {
            say("broker: real single-node KRaft Kafka at %s (child JVM, data in %s) ready after %.1f s", kafka.bootstrapServers(), kafka.directory(),
                    (System.nanoTime() - started) / 1e9);
            Path stateDir = Files.createTempDirectory("lcckpt-encoder-state-");
            Map<String, Object> encoderConfig = new HashMap<>();
            encoderConfig.put("bootstrap.servers", kafka.bootstrapServers());
            encoderConfig.put("application.id", APPLICATION_ID);
            encoderConfig.put("state.dir", stateDir.toString());
            encoderConfig.put("lcckpt.superstep.interval", superstepInterval);
            encoderConfig.put("lcckpt.superstep.policy", superstepPolicy);
            encoderConfig.put("lcckpt.codec.promotion.bits", promotionBits);
            KafkaStreams encoder = EncoderApp.start(encoderConfig);
            Thread cleanup = new Thread(() -> TempDirectories.delete(stateDir), "lcckpt-demo-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            try {
                run(kafka, brokerBytes, train, test);
            } finally {
                encoder.close(Duration.ofSeconds(30));
            }
        }
        say("done in %.1f s; the broker and its data are gone", (System.nanoTime() - started) / 1e9);
    }

    private void run(EmbeddedKafka kafka, BrokerBytes brokerBytes, FashionMnist train, FashionMnist test) throws Exception {
        BrokerBytes.Snapshot before = brokerBytes.snapshot();
        Map<String, Object> producerConfig = new HashMap<>();
        producerConfig.put("bootstrap.servers", kafka.bootstrapServers());
        producerConfig.put("lcckpt.job", JOB);
        producerConfig.put("lcckpt.topic.partitions", 2);
        LogisticRegression model = new LogisticRegression(train, 42, 64, LEARNING_RATE);
        Map<Long, Map<String, float[]>> truth = new HashMap<>();
        Map<Long, Double> batchLoss = new HashMap<>();
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers()));

        CheckpointProducer producer = new CheckpointProducer(producerConfig);
        producer.registerTensor("weight", new long[] {FashionMnist.CLASSES, FashionMnist.PIXELS}, DType.FLOAT32);
        producer.registerTensor("bias", new long[] {FashionMnist.CLASSES}, DType.FLOAT32);
        long trainStart = System.nanoTime();
        producer.publish(0, tensors(model));
        truth.put(0L, copy(model));
        for (long step = 1; step <= crashAt; step++) {
            long stepStart = System.nanoTime();
            batchLoss.put(step, model.step());
            pace(stepStart);
            producer.publish(step, tensors(model));
            truth.put(step, copy(model));
            if (step % 50 == 0) {
                say("trainer: step %d, minibatch loss %.4f", step, batchLoss.get(step));
            }
        }
        double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
        producer.abandon();
        say("trainer: CRASH after step %d (the process dies: nothing waiting is sent, an open transaction is left to be fenced);"
                + " publish() blocked %.1f ms in %.1f s of training (%.1f%%)", crashAt, producer.timeBlocked().toNanos() / 1e6, trainSeconds,
                100 * producer.timeBlocked().toNanos() / 1e9 / trainSeconds);

        // the restarted trainer: once the encoder has caught up, restore the latest complete step
        awaitSettled(restorer);
        RestoredState restored = restorer.restoreLatest(JOB, null);
        double restoreMillis = restored.elapsed().toNanos() / 1e6;
        long step = restored.step();
        float[] weight = restored.tensors().get("weight").floats();
        float[] bias = restored.tensors().get("bias").floats();
        Map<String, float[]> truthAtStep = truth.get(step);
        double maxAbs = 0;
        double diff2 = 0;
        double norm2 = 0;
        for (String name : List.of("weight", "bias")) {
            float[] actual = restored.tensors().get(name).floats();
            float[] expected = truthAtStep.get(name);
            for (int i = 0; i < actual.length; i++) {
                double d = actual[i] - expected[i];
                maxAbs = Math.max(maxAbs, Math.abs(d));
                diff2 += d * d;
                norm2 += (double) expected[i] * expected[i];
            }
        }
        Files.createDirectories(out);
        SafetensorsWriter.write(restored, out.resolve("model.safetensors"));
        SafetensorsWriter.writeSummary(restored, out.resolve("model.safetensors.json"));
        double lossTrue = LogisticRegression.loss(truthAtStep.get("weight"), truthAtStep.get("bias"), test, 2000);
        double lossRestored = LogisticRegression.loss(weight, bias, test, 2000);
        say("restore: step %d (superstep %d + %d deltas) in %.0f ms, %d records / %,d bytes read; written to %s",
                step, restored.superstep(), restored.deltasApplied(), restoreMillis, restored.recordsRead(), restored.bytesRead(), out.resolve("model.safetensors"));
        say("restore: distance to the true state: max |diff| %.3g, relative L2 %.3g", maxAbs, Math.sqrt(diff2 / norm2));
        say("loss on 2000 test images: true state %.4f, restored %.4f", lossTrue, lossRestored);

        // resume: a new generation from the restored state
        LogisticRegression resumed = new LogisticRegression(train, 4242, 64, LEARNING_RATE);
        resumed.load(weight, bias);
        try (CheckpointProducer next = new CheckpointProducer(producerConfig)) {
            next.registerTensor("weight", new long[] {FashionMnist.CLASSES, FashionMnist.PIXELS}, DType.FLOAT32);
            next.registerTensor("bias", new long[] {FashionMnist.CLASSES}, DType.FLOAT32);
            next.resume(step, tensors(resumed));
            for (long s = step + 1; s <= steps; s++) {
                long stepStart = System.nanoTime();
                resumed.step();
                pace(stepStart);
                next.publish(s, tensors(resumed));
            }
        }
        double finalLoss = LogisticRegression.loss(resumed.weight, resumed.bias, test, 2000);
        say("resume: new generation from step %d, trained to step %d; test loss %.4f", step, steps, finalLoss);
        RestoredState end = awaitLatest(restorer, steps);
        // every step is complete: its records and the encoder's state for it are committed
        Map<String, BrokerBytes.TopicBytes> written = brokerBytes.between(before, brokerBytes.snapshot(), List.of(APPLICATION_ID));
        // published states: 0..crashAt, the resumed generation's full state, and step+1..steps
        long published = crashAt + 1 + 1 + (steps - step);

        // the figures, from the step-complete markers of the retained steps
        List<StepComplete> markers = restorer.completedSteps(JOB);
        long raw = markers.get(markers.size() - 1).getRawBytes();
        double deltaBytes = markers.stream().filter(m -> !m.getSuperstep()).mapToLong(StepComplete::getEncodedBytes).average().orElse(Double.NaN);
        // supersteps included as they came among the retained steps (by bytes, each chunk at steps of its own)
        double amortized = markers.stream().mapToLong(StepComplete::getEncodedBytes).average().orElse(Double.NaN);
        double changelog = markers.stream().mapToLong(StepComplete::getStateBytes).average().orElse(Double.NaN);
        say("");
        say("%-58s %12s", "figure", "value");
        say("%-58s %,12d", "full checkpoint of the model (bytes)", raw);
        say("%-58s %,12.0f  (%.1fx smaller)", "checkpoint bytes per step, between supersteps", deltaBytes, raw / deltaBytes);
        say("%-58s %,12.0f  (%.1fx smaller)", "checkpoint bytes per step, supersteps included", amortized, raw / amortized);
        say("%-58s %,12.0f  (%.2f full checkpoints)", "full checkpoint every " + fullEvery + " steps, bytes per step", raw / (double) fullEvery,
                1.0 / fullEvery);
        int sameBytes = (int) Math.max(1, Math.round(raw / amortized));
        say("%-58s %12d", "full checkpoints at our bytes per step: one every ... steps", sameBytes);
        say("%-58s %12d", "steps lost by the crash, every-step checkpoints", crashAt - step);
        say("%-58s %12d", "steps lost by the crash, full checkpoint every " + fullEvery, crashAt % fullEvery);
        say("%-58s %12d  (%.1f on average)", "steps lost by the crash, full checkpoint every " + sameBytes, crashAt % sameBytes, (sameBytes - 1) / 2.0);
        say("%-58s %12.0f", "restore time (ms)", restoreMillis);
        say("%-58s %,12.0f  (the encoder's own count; the broker's below)", "encoder state changelog bytes per step", changelog);
        say("%-58s %12.4f / %.4f", "test loss: true / restored at step " + step, lossTrue, lossRestored);
        say("%-58s %12.4f", "test loss after resuming to step " + end.step(), finalLoss);
        say("");
        say("bytes the broker wrote per published step (%d states: both generations, supersteps included), by kind of topic;", published);
        say("source: %s", BrokerBytes.sources(written));
        Map<String, Long> kinds = BrokerBytes.byKind(written);
        long total = kinds.get("total");
        kinds.forEach((kind, bytes) -> say("  %-56s %,12.0f  %5.1f%%", kind, bytes / (double) published, 100.0 * bytes / total));
        CheckpointRecordBytes.SuperstepShare share = CheckpointRecordBytes.superstepShare(kafka.bootstrapServers(),
                new io.lccheckpoint.schema.kafka.Topics(io.lccheckpoint.schema.kafka.Topics.DEFAULT_PREFIX).checkpoints(JOB));
        say("superstep share of the checkpoint topic (its records' key + value bytes, both generations; superstep policy %s): %.1f%%;"
                + " without the generations' initial states: %.1f%%", superstepPolicy, 100 * share.share(), 100 * share.shareWithoutInitialStates());
    }

    /** Emulates a realistic step time: the demo's model computes much faster than the models users train. */
    private void pace(long stepStart) throws InterruptedException {
        long remaining = stepMillis * 1_000_000L - (System.nanoTime() - stepStart);
        if (remaining > 0) {
            Thread.sleep(remaining / 1_000_000L, (int) (remaining % 1_000_000L));
        }
    }

    /** Waits (at most 60 s) until the latest complete step has stopped advancing for a second. */
    private static void awaitSettled(Restorer restorer) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long last = -2;
        long stableSince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            long latest;
            try {
                latest = restorer.completedSteps(JOB).stream().mapToLong(StepComplete::getStep).max().orElse(-1);
            } catch (RestoreException notYet) {
                latest = -1;
            }
            if (latest != last) {
                last = latest;
                stableSince = System.nanoTime();
            } else if (latest >= 0 && System.nanoTime() - stableSince > 1_000_000_000L) {
                return;
            }
            Thread.sleep(200);
        }
    }

    private static RestoredState awaitLatest(Restorer restorer, long step) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        RestoredState latest = null;
        while (System.nanoTime() < deadline) {
            try {
                latest = restorer.restoreLatest(JOB, null);
                if (latest.step() >= step) {
                    return latest;
                }
            } catch (RestoreException notYet) {
                // nothing complete yet
            }
            Thread.sleep(200);
        }
        if (latest == null) {
            throw new RestoreException("job " + JOB + ": no complete step after 60 s");
        }
        return latest;
    }

    private static Map<String, Object> tensors(LogisticRegression model) {
        Map<String, Object> tensors = new LinkedHashMap<>();
        tensors.put("weight", model.weight);
        tensors.put("bias", model.bias);
        return tensors;
    }

    private static Map<String, float[]> copy(LogisticRegression model) {
        return Map.of("weight", model.weight.clone(), "bias", model.bias.clone());
    }
}
