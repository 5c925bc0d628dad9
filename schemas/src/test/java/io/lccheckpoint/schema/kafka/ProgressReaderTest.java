package io.lccheckpoint.schema.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.StepComplete;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The progress reader against a MockConsumer: from the topic's end, the followed jobs' notices only, in order. */
class ProgressReaderTest {
    private static final String TOPIC = new Topics("lcckpt").encoderProgress();
    private static final TopicPartition PARTITION = new TopicPartition(TOPIC, 0);

    private static StepComplete notice(String job, long step) {
        return StepComplete.newBuilder().setJob(job).setGeneration(0).setStep(step).setChunks(2).setEncodedBytes(10).setRawBytes(40).build();
    }

    private static ConsumerRecord<byte[], byte[]> record(long offset, String job, long step) {
        return new ConsumerRecord<>(TOPIC, 0, offset, job.getBytes(StandardCharsets.UTF_8), SingleObjectSerde.encode(notice(job, step)));
    }

    @Test
    void followsTheJobsNoticesFromTheTopicsEnd() throws Exception {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, Node.noNode(), new Node[0], new Node[0])));
        consumer.updateEndOffsets(Map.of(PARTITION, 5L));
        List<String> seen = new CopyOnWriteArrayList<>();
        try (ProgressReader reader = ProgressReader.follow(consumer, TOPIC, List.of("a", "b"), (job, n) -> seen.add(job + "@" + n.getStep()))) {
            assertThat(reader.awaitPositioned(Duration.ofSeconds(10))).isTrue();
            consumer.schedulePollTask(() -> {
                consumer.addRecord(record(5, "a", 1));
                consumer.addRecord(record(6, "other", 1));
                consumer.addRecord(record(7, "b", 1));
                consumer.addRecord(record(8, "a", 2));
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (seen.size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(reader.failure()).isEmpty();
        }
        assertThat(seen).containsExactly("a@1", "b@1", "a@2");
        assertThat(consumer.closed()).isTrue();
    }

    @Test
    void waitsForTheTopicAndStopsWhenClosed() throws Exception {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        ProgressReader reader = ProgressReader.follow(consumer, TOPIC, List.of("a"), (job, n) -> { });
        assertThat(reader.awaitPositioned(Duration.ofMillis(300))).isFalse();
        reader.close();
        assertThat(reader.failure()).isEmpty();
        assertThat(consumer.closed()).isTrue();
    }
}
