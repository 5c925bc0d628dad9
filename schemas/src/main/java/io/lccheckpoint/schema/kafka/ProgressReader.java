package io.lccheckpoint.schema.kafka;

import io.lccheckpoint.schema.StepComplete;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The one reader of the encoder's progress topic ({@link Topics#encoderProgress()}): on a thread of its own, it follows
 * the topic from its end (read_committed, no consumer group) and hands each {@link StepComplete} notice of the followed
 * jobs to a {@link Listener}. The encoder writes one notice per coded chunk, keyed by job; a step is complete when
 * {@link StepComplete#getChunks()} notices of its generation have come. The encoder creates the topic when it starts:
 * until then the reader waits for it. {@link #close()} stops the thread.
 */
public final class ProgressReader implements AutoCloseable {
    /** Told of every notice of a followed job, on the reader's thread, in the order of the topic's partitions. */
    @FunctionalInterface
    public interface Listener {
        void notice(String job, StepComplete notice);
    }

    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration TOPIC_RETRY = Duration.ofMillis(500);

    private final Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final Set<String> jobs;
    private final Listener listener;
    private final CountDownLatch positioned = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean stop;
    private volatile RuntimeException failure;

    private ProgressReader(Consumer<byte[], byte[]> consumer, String topic, Set<String> jobs, Listener listener) {
        this.consumer = consumer;
        this.topic = topic;
        this.jobs = jobs;
        this.listener = listener;
        this.thread = new Thread(this::run, "lcckpt-progress-reader");
        this.thread.setDaemon(true);
    }

    /**
     * Starts following {@code topic} for {@code jobs}. {@code kafkaSettings} may hold any client settings (those a consumer
     * does not take are dropped, and {@code group.id}); the reader sets {@code isolation.level=read_committed} and turns
     * auto-commit off. Returns at once: {@link #awaitPositioned} waits until the reader is at the topic's end.
     */
    public static ProgressReader follow(Map<String, ?> kafkaSettings, String topic, Collection<String> jobs, Listener listener) {
        Map<String, Object> settings = new HashMap<>(kafkaSettings);
        settings.keySet().retainAll(ConsumerConfig.configNames());
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return follow(new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer()), topic, jobs, listener);
    }

    /**
     * With a consumer of one's own (read_committed, no group; a {@code MockConsumer} in tests); the reader's thread uses it
     * alone, and closes it.
     */
    public static ProgressReader follow(Consumer<byte[], byte[]> consumer, String topic, Collection<String> jobs, Listener listener) {
        ProgressReader reader = new ProgressReader(consumer, topic, Set.copyOf(jobs), listener);
        reader.thread.start();
        return reader;
    }

    /**
     * Waits until the topic exists and the reader holds its end offsets: every notice committed after this returns true is
     * seen. False if that took longer than {@code timeout} (the encoder has not created the topic yet) or the reader stopped.
     */
    public boolean awaitPositioned(Duration timeout) throws InterruptedException {
        return positioned.await(timeout.toNanos(), TimeUnit.NANOSECONDS) && failure == null && !stop;
    }

    /** What stopped the reader's thread, if it failed (a listener's exception included). */
    public Optional<RuntimeException> failure() {
        return Optional.ofNullable(failure);
    }

    private void run() {
        try {
            List<TopicPartition> partitions = awaitTopic();
            if (partitions.isEmpty()) {
                return; // stopped before the topic appeared
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            // resolved now rather than at the first poll: what is committed after awaitPositioned returns is read
            partitions.forEach(consumer::position);
            positioned.countDown();
            while (!stop) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                    String job = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
                    if (job != null && jobs.contains(job) && SingleObjectSerde.decode(record.value()) instanceof StepComplete notice) {
                        listener.notice(job, notice);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (!stop) {
                failure = e;
            }
        } finally {
            positioned.countDown();
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private List<TopicPartition> awaitTopic() throws InterruptedException {
        List<TopicPartition> partitions = new ArrayList<>();
        while (partitions.isEmpty() && !stop) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null) {
                infos.forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
            }
            if (partitions.isEmpty()) {
                Thread.sleep(TOPIC_RETRY.toMillis());
            }
        }
        return partitions;
    }

    /** Stops the reader's thread (waiting at most 10 s for it) and closes its consumer. */
    @Override
    public void close() {
        stop = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
