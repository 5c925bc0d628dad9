package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.kafka.Topics;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The split point under a slow network (HAPI, issue #5): each model size, quota and split (storage, trainer, auto) for
 * at least {@code seconds}, the network throttled with a {@code producer_byte_rate} client quota on the trainer's client
 * id; step time from the encoder's completions, CPU from the threads on each side.
 */
final class SplitExperiment {
    /** A fixed split this many times slower than the other in the first round is not measured again. */
    static final double HOPELESS = 2.0;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final EmbeddedKafka kafka;
    private final boolean quick;
    private final int seconds;

    SplitExperiment(EmbeddedKafka kafka, boolean quick, int seconds) {
        this.kafka = kafka;
        this.quick = quick;
        this.seconds = seconds;
    }

    /**
     * Every configuration once per round; later rounds run in another order of splits (so what drifts over a round does not
     * always fall on the same split) and skip a fixed split more than {@link #HOPELESS} times slower than the other fixed
     * split in the first round: it cannot be the best, and at 5 MB/s one such run takes minutes.
     */
    List<SplitRun> run(int rounds) throws Exception {
        long[] sizes = quick ? new long[] {10_000_000L} : new long[] {10_000_000L, 50_000_000L};
        double[] quotas = quick ? new double[] {5, 0} : new double[] {5, 25, 100, 0};
        String prefix = "hapi-split";
        KafkaStreams encoder = EmbeddedEncoder.start(kafka, prefix, prefix);
        List<SplitRun> runs = new ArrayList<>();
        String[] splits = {"storage", "trainer", "auto"};
        try {
            for (int round = 0; round < rounds; round++) {
                for (long parameters : sizes) {
                    float[] pattern = deltaPattern(parameters);
                    // the trainer's compute per step (a GPU step the checkpointing runs beside): 20 ms per million parameters
                    long computeMillis = parameters / 50_000;
                    say("");
                    say("split point, round %d of %d, %,d parameters (%.0f MB raw per step), %d ms of compute per step:", round + 1, rounds, parameters,
                            4e-6 * parameters, computeMillis);
                    say("%-12s %-8s %10s %8s %14s %16s %16s %s", "quota", "split", "step (s)", "steps", "trainer CPU/step", "network MB/step",
                            "encoder CPU/step", "ends as");
                    for (double quota : quotas) {
                        for (int k = 0; k < splits.length; k++) {
                            String split = splits[(k + round) % splits.length];
                            if (round > 0 && !split.equals("auto")) {
                                SplitRun first = SplitRun.first(runs, parameters, quota, split);
                                SplitRun other = SplitRun.first(runs, parameters, quota, split.equals("storage") ? "trainer" : "storage");
                                if (first.stepSeconds() > HOPELESS * other.stepSeconds()) {
                                    continue;
                                }
                            }
                            SplitRun run = splitRun(prefix, parameters, pattern, computeMillis, quota, split, round);
                            runs.add(run);
                            say("%-12s %-8s %10.3f %8d %13.3f s %16.2f %15.3f s %s (%d switches)", SplitRun.quotaLabel(quota, "none"),
                                    split, run.stepSeconds(), run.steps(), run.trainerCpuPerStep(), run.networkBytesPerStep() / 1e6, run.encoderCpuPerStep(),
                                    run.finalSplit(), run.switches());
                        }
                    }
                }
            }
        } finally {
            encoder.close(Duration.ofSeconds(60));
        }
        return runs;
    }

    /** SGD-like deltas: 20% of the entries move at 1e-3, the rest at 1e-6 (fixed seed); steps use rotations of it. */
    static float[] deltaPattern(long parameters) {
        SplittableRandom random = new SplittableRandom(42);
        float[] pattern = new float[(int) parameters];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (float) (random.nextGaussian() * (random.nextInt(5) == 0 ? 1e-3 : 1e-6));
        }
        return pattern;
    }

    private SplitRun splitRun(String prefix, long parameters, float[] pattern, long computeMillis, double quota, String split, int round)
            throws Exception {
        String job = String.format(Locale.ROOT, "p%dm-q%s-%s-r%d", parameters / 1_000_000, quota == 0 ? "none" : String.valueOf((int) quota), split,
                round + 1);
        String clientId = "trainer-" + job;
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("client.id", clientId);
        config.put("lcckpt.topic.prefix", prefix);
        config.put("lcckpt.job", job);
        config.put("lcckpt.split", split);
        config.put("lcckpt.split.replan.steps", 3);
        config.put("lcckpt.topic.partitions", 2);
        float[] model = new float[(int) parameters];
        System.arraycopy(pattern, 0, model, 0, model.length);
        StepCompletions completion = new StepCompletions(kafka.bootstrapServers(), new Topics(prefix).encoderProgress(), job);
        // the quota from the start: the initial state crosses the same slow network (and split=auto plans its first
        // step from that transfer, as it would on a real cluster)
        setQuota(clientId, quota);
        // the previous configuration's arrays (up to 200 MB each at 50M parameters) are garbage now: collect them before
        // this one is timed rather than during it
        System.gc();
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            producer.registerTensor("weights", new long[] {parameters}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model)).get(10, TimeUnit.MINUTES);
            completion.await(0, Duration.ofMinutes(10));
            long bytesBefore = producer.bytesSent();
            Predicate<String> trainerThreads = name -> name.equals("lcckpt-producer-" + job) || name.contains("| " + clientId);
            Predicate<String> encoderThreads = name -> name.contains(prefix + "-");
            double trainerCpuBefore = cpu(trainerThreads);
            double encoderCpuBefore = cpu(encoderThreads);
            long begin = System.nanoTime();
            long step = 0;
            while (step < 3 || (System.nanoTime() - begin) / 1e9 < seconds && step < 200) {
                step++;
                int shift = (int) ((step * 7_919L) % parameters);
                float factor = 1f + 0.1f * (step % 7);
                for (int i = 0; i < model.length; i++) {
                    int j = i + shift;
                    model[i] += factor * pattern[j < model.length ? j : j - model.length];
                }
                Thread.sleep(computeMillis);
                producer.publish(step, Map.of("weights", model));
            }
            producer.drain();
            completion.await(step, Duration.ofMinutes(15));
            double elapsed = (System.nanoTime() - begin) / 1e9;
            double trainerCpu = cpu(trainerThreads) - trainerCpuBefore;
            double encoderCpu = cpu(encoderThreads) - encoderCpuBefore;
            double steady = completion.steadyStepSeconds(job, step);
            SplitRun run = new SplitRun(round, parameters, quota, split, (int) step, Double.isNaN(steady) ? elapsed / step : steady, trainerCpu / step,
                    (double) (producer.bytesSent() - bytesBefore) / step, encoderCpu / step,
                    producer.currentSplit().name().toLowerCase(Locale.ROOT), producer.splitSwitches());
            setQuota(clientId, 0);
            expireRawDeltas(new Topics(prefix).rawDeltas(job));
            return run;
        } finally {
            completion.close();
        }
    }

    /**
     * A finished configuration's raw deltas are coded and committed: a retention of 1 s lets the broker drop them at its
     * next retention check (the raw steps of a full run add up to tens of GB). The encoder, subscribed by pattern, goes on.
     */
    private void expireRawDeltas(String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            AlterConfigOp op = new AlterConfigOp(new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(op))).all().get();
        }
    }

    /** producer_byte_rate for one client id (0: remove the quota). */
    private void setQuota(String clientId, double megabytesPerSecond) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, clientId));
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity, List.of(new ClientQuotaAlteration.Op("producer_byte_rate",
                    megabytesPerSecond > 0 ? megabytesPerSecond * 1e6 : null))))).all().get();
        }
    }

    /** CPU seconds of the live threads whose names match. */
    private static double cpu(Predicate<String> names) {
        double total = 0;
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info != null && names.test(info.getThreadName())) {
                long nanos = THREADS.getThreadCpuTime(info.getThreadId());
                total += nanos > 0 ? nanos / 1e9 : 0;
            }
        }
        return total;
    }
}
