package io.lccheckpoint.experiments;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The bytes of a checkpoint topic's committed records by {@link RecordKind} (serialized key + value, as the records hold
 * them; batch framing not included): what share of the topic the supersteps are.
 */
public final class CheckpointRecordBytes {
    private CheckpointRecordBytes() {
    }

    /**
     * The superstep share of a checkpoint topic: superstep records' bytes over all records' bytes, and the same without
     * each generation's initial state (its supersteps at the generation's first step), which every policy must write.
     */
    public record SuperstepShare(double share, double shareWithoutInitialStates) {
    }

    public static SuperstepShare superstepShare(String bootstrapServers, String topic) {
        Map<RecordKind, Long> kinds = new EnumMap<>(RecordKind.class);
        Map<Long, java.util.TreeMap<Long, Long>> supersteps = new java.util.HashMap<>();
        read(bootstrapServers, topic, (key, bytes) -> {
            kinds.merge(key.getKind(), bytes, Long::sum);
            if (key.getKind() == RecordKind.SUPERSTEP_CHUNK) {
                supersteps.computeIfAbsent(key.getGeneration(), g -> new java.util.TreeMap<>()).merge(key.getStep(), bytes, Long::sum);
            }
        });
        long all = kinds.values().stream().mapToLong(Long::longValue).sum();
        long superstep = kinds.getOrDefault(RecordKind.SUPERSTEP_CHUNK, 0L);
        long initial = supersteps.values().stream().mapToLong(steps -> steps.firstEntry().getValue()).sum();
        return new SuperstepShare(superstep / (double) all, (superstep - initial) / (double) (all - initial));
    }

    public static Map<RecordKind, Long> byKind(String bootstrapServers, String topic) {
        Map<RecordKind, Long> bytes = new EnumMap<>(RecordKind.class);
        read(bootstrapServers, topic, (key, size) -> bytes.merge(key.getKind(), size, Long::sum));
        return bytes;
    }

    private static void read(String bootstrapServers, String topic, java.util.function.BiConsumer<CheckpointKey, Long> each) {
        Map<String, Object> config = Map.of("bootstrap.servers", bootstrapServers, "isolation.level", "read_committed",
                "max.partition.fetch.bytes", 16 << 20, "fetch.max.bytes", 64 << 20);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(topic + ": not read to its end in 5 minutes");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
                    each.accept(key, (long) record.serializedKeySize() + Math.max(0, record.serializedValueSize()));
                }
            }
        }
    }
}
