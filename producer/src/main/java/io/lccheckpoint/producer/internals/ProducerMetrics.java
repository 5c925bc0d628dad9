package io.lccheckpoint.producer.internals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.JmxReporter;
import org.apache.kafka.common.metrics.KafkaMetricsContext;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Avg;
import org.apache.kafka.common.metrics.stats.Max;
import org.apache.kafka.common.utils.Time;

/**
 * The producer's metrics, registered in Kafka's {@link Metrics} and reported over JMX as
 * {@code lcckpt.producer:type=lcckpt-producer-metrics,client-id=<client.id>,job=<job>} (the README lists them). Counters
 * are exact longs; the getters of {@code CheckpointProducer} read the same numbers.
 */
public final class ProducerMetrics implements AutoCloseable {
    public static final String JMX_DOMAIN = "lcckpt.producer";
    public static final String GROUP = "lcckpt-producer-metrics";

    private final Metrics metrics;
    private final Map<String, String> tags = new LinkedHashMap<>();
    private final LongAdder stepsCommitted = new LongAdder();
    private final LongAdder stepsFailed = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder rawBytesCommitted = new LongAdder();
    private final LongAdder blockedNanos = new LongAdder();
    private final LongAdder codingNanos = new LongAdder();
    private final LongAdder splitSwitches = new LongAdder();
    private volatile boolean trainerSplit;
    private final Sensor commitTime;

    public ProducerMetrics(String job, String clientId, Time time) {
        tags.put("client-id", clientId);
        tags.put("job", job);
        this.metrics = new Metrics(new MetricConfig().tags(tags), List.of(new JmxReporter()), time, new KafkaMetricsContext(JMX_DOMAIN));
        counter("steps-committed-total", "Steps committed (each in a transaction, visible whole)", stepsCommitted);
        counter("steps-failed-total", "Steps not committed (the producer needs resume() after the first)", stepsFailed);
        counter("bytes-sent-total", "Bytes of chunk payloads committed: raw values, or coded chunks under the trainer split", bytesSent);
        counter("raw-bytes-committed-total", "Bytes of raw values of the steps committed (what the storage split sends)", rawBytesCommitted);
        counter("publish-blocked-time-ns-total", "Time publish() spent blocked by back-pressure (lcckpt.buffer.memory)", blockedNanos);
        counter("coding-time-ns-total", "Time the sender spent coding chunks under the trainer split", codingNanos);
        counter("split-switches-total", "Times the split changed (each hands the residual over)", splitSwitches);
        gauge("split-trainer", "1 when the last step built was coded here (split=trainer), 0 when the encoder codes it", () -> trainerSplit ? 1 : 0);
        commitTime = metrics.sensor("step-commit-time");
        commitTime.add(name("step-commit-time-avg", "Average ms from a transaction's start to its commit"), new Avg());
        commitTime.add(name("step-commit-time-max", "Longest ms from a transaction's start to its commit"), new Max());
    }

    private MetricName name(String name, String description) {
        return metrics.metricName(name, GROUP, description, tags);
    }

    private void counter(String name, String description, LongAdder adder) {
        gauge(name, description, adder::sum);
    }

    private void gauge(String name, String description, LongSupplier value) {
        metrics.addMetric(name(name, description), (Gauge<Long>) (config, now) -> value.getAsLong());
    }

    public void committed(int steps, long bytes, long rawBytes, double transactionMs) {
        stepsCommitted.add(steps);
        bytesSent.add(bytes);
        rawBytesCommitted.add(rawBytes);
        commitTime.record(transactionMs);
    }

    public void failed(int steps) {
        stepsFailed.add(steps);
    }

    public void blocked(long nanos) {
        blockedNanos.add(nanos);
    }

    public void built(StepRecords.Built built) {
        codingNanos.add(built.codingNanos());
        trainerSplit = built.split() == io.lccheckpoint.producer.SplitPlanner.Split.TRAINER;
        if (built.switched()) {
            splitSwitches.increment();
        }
    }

    public long bytesSent() {
        return bytesSent.sum();
    }

    public long rawBytesCommitted() {
        return rawBytesCommitted.sum();
    }

    public long blockedNanos() {
        return blockedNanos.sum();
    }

    public long codingNanos() {
        return codingNanos.sum();
    }

    public long splitSwitches() {
        return splitSwitches.sum();
    }

    public boolean trainerSplit() {
        return trainerSplit;
    }

    /** The registry, for a caller that reports elsewhere (every metric is in group {@link #GROUP}). */
    public Metrics registry() {
        return metrics;
    }

    @Override
    public void close() {
        metrics.close();
    }
}
