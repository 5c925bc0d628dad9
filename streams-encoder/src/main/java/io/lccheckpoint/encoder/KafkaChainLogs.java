package io.lccheckpoint.encoder;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The logs a rebuild reads, from the brokers: consumers of its own (no group, assigned partitions) made from the
 * encoder's Kafka settings, security settings included ({@code consumer.}-prefixed ones win). The checkpoint topic is read
 * uncommitted (see {@link ChainRebuilder}: it never waits for a transaction), the raw-delta partition committed, as the
 * encoder consumed it.
 */
final class KafkaChainLogs implements ChainRebuilder.Logs {
    private final Map<String, Object> consumerConfig;

    KafkaChainLogs(Map<String, Object> streamsSettings, int maxRecordBytes) {
        consumerConfig = new HashMap<>(streamsSettings);
        consumerConfig.keySet().retainAll(ConsumerConfig.configNames());
        streamsSettings.forEach((key, value) -> {
            if (key.startsWith(StreamsConfig.CONSUMER_PREFIX) && ConsumerConfig.configNames().contains(key.substring(StreamsConfig.CONSUMER_PREFIX.length()))) {
                consumerConfig.put(key.substring(StreamsConfig.CONSUMER_PREFIX.length()), value);
            }
        });
        consumerConfig.remove(ConsumerConfig.GROUP_ID_CONFIG);
        consumerConfig.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerConfig.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumerConfig.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumerConfig.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 3 * maxRecordBytes + 4096);
        consumerConfig.put(ConsumerConfig.CLIENT_ID_CONFIG, consumerConfig.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG, "lcckpt-encoder") + "-rebuild");
    }

    private KafkaConsumer<byte[], byte[]> consumer(IsolationLevel isolation) {
        Map<String, Object> config = new HashMap<>(consumerConfig);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString().toLowerCase(Locale.ROOT));
        return new KafkaConsumer<>(config);
    }

    @Override
    public void checkpoints(String topic, long fromTimestamp, Predicate<ConsumerRecord<byte[], byte[]>> each) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(IsolationLevel.READ_UNCOMMITTED)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(info -> new TopicPartition(topic, info.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            Map<TopicPartition, Long> times = new HashMap<>();
            partitions.forEach(partition -> times.put(partition, fromTimestamp));
            Map<TopicPartition, OffsetAndTimestamp> starts = consumer.offsetsForTimes(times);
            for (TopicPartition partition : partitions) {
                OffsetAndTimestamp start = starts.get(partition);
                consumer.seek(partition, start == null ? end.get(partition) : start.offset());
            }
            while (partitions.stream().anyMatch(partition -> consumer.position(partition) < end.get(partition))) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.offset() < end.get(new TopicPartition(record.topic(), record.partition())) && !each.test(record)) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public ChainRebuilder.PositionReader positionReader() {
        return new Positions();
    }

    /**
     * Uncommitted, like the superstep reads: a notice is read committed, so the record it points at (same transaction) is
     * committed too, and a committed read could wait on the encoder's own open transaction on the same partition. One
     * consumer per task, created on first use; it fetches from the wanted offset on and keeps what came after it, which is
     * where the next notices of the step usually point.
     */
    private final class Positions implements ChainRebuilder.PositionReader {
        private KafkaConsumer<byte[], byte[]> consumer;
        private final Set<TopicPartition> assigned = new HashSet<>();
        private final Map<TopicPartition, ArrayDeque<ConsumerRecord<byte[], byte[]>>> fetched = new HashMap<>();

        @Override
        public ConsumerRecord<byte[], byte[]> read(TopicPartition partition, long offset) {
            ArrayDeque<ConsumerRecord<byte[], byte[]>> kept = fetched.computeIfAbsent(partition, p -> new ArrayDeque<>());
            while (!kept.isEmpty() && kept.peekFirst().offset() < offset) {
                kept.pollFirst();
            }
            if (kept.isEmpty() || kept.peekFirst().offset() > offset) {
                kept.clear();
                fetch(partition, offset, kept);
            }
            ConsumerRecord<byte[], byte[]> first = kept.peekFirst();
            return first != null && first.offset() == offset ? kept.pollFirst() : null;
        }

        private void fetch(TopicPartition partition, long offset, ArrayDeque<ConsumerRecord<byte[], byte[]>> kept) {
            if (consumer == null) {
                consumer = consumer(IsolationLevel.READ_UNCOMMITTED);
            }
            if (assigned.add(partition)) {
                consumer.assign(assigned);
            }
            consumer.pause(assigned);
            consumer.resume(List.of(partition));
            consumer.seek(partition, offset);
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            if (offset >= end) {
                return;
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (kept.isEmpty()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200)).records(partition)) {
                    kept.addLast(record);
                }
                if (kept.isEmpty() && consumer.position(partition) > offset) {
                    return; // the offset holds no record (compacted away, or a transaction marker)
                }
                if (kept.isEmpty() && System.nanoTime() > deadline) {
                    throw new org.apache.kafka.common.errors.TimeoutException("no record of " + partition + " at offset " + offset
                            + " could be fetched in 60 s (end offset " + end + ")");
                }
            }
        }

        @Override
        public void close() {
            if (consumer != null) {
                consumer.close(Duration.ofSeconds(5));
                consumer = null;
            }
            fetched.clear();
            assigned.clear();
        }
    }

    @Override
    public void raw(TopicPartition partition, long fromOffset, long toOffset, Predicate<ConsumerRecord<byte[], byte[]>> each) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(IsolationLevel.READ_COMMITTED)) {
            consumer.assign(List.of(partition));
            long first = consumer.beginningOffsets(List.of(partition)).get(partition);
            if (first > fromOffset) {
                throw new KafkaException("rebuilding from " + partition + ": its records from offset " + fromOffset + " are needed but the partition starts at "
                        + first + " (deleted by retention or by hand?)");
            }
            consumer.seek(partition, fromOffset);
            // the records before toOffset were consumed by the encoder, so they are committed: the position gets there
            while (consumer.position(partition) < toOffset) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.offset() >= toOffset || !each.test(record)) {
                        return;
                    }
                }
            }
        }
    }
}
