package io.lccheckpoint.encoder;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the raw-delta topics a buffer, not an archive (DESIGN.md §8, issue #12): deletes the raw records no rebuild can
 * need any more. A task offers, per raw-delta partition, the offset below which its chunks need nothing (the lowest
 * {@link ChunkRecordState#rawNeededFrom()} of its chunks, at most the record it just processed); that offer holds once the
 * encoder's commit covers the record it was made at, since a crash before would rebuild from the state before it. A
 * background thread checks the group's committed offsets and deletes ({@code Admin.deleteRecords}) what the committed
 * offers allow. A job's raw topic thus keeps about one superstep interval of steps with {@code split=storage}, and
 * next to nothing with {@code split=trainer}.
 */
interface RawTrimmer extends AutoCloseable {
    /** Records below {@code deleteBelow} may go once the encoder's committed offset of {@code partition} reaches {@code committedFrom}. */
    void offer(TopicPartition partition, long deleteBelow, long committedFrom);

    @Override
    default void close() {
    }

    /** For topology tests: nothing is deleted. */
    RawTrimmer NONE = (partition, deleteBelow, committedFrom) -> { };

    static RawTrimmer admin(Map<String, Object> streamsSettings, String applicationId, Duration period) {
        return new AdminRawTrimmer(streamsSettings, applicationId, period);
    }

    final class AdminRawTrimmer implements RawTrimmer {
        private static final Logger LOG = LoggerFactory.getLogger(RawTrimmer.class);
        /** Per partition, the offers not yet applied, oldest first (at most {@link #OFFERS_KEPT}: older ones are subsumed). */
        private final Map<TopicPartition, java.util.Deque<Offer>> pending = new ConcurrentHashMap<>();
        private static final int OFFERS_KEPT = 64;
        private final Map<TopicPartition, Long> deleted = new HashMap<>();
        private final Admin admin;
        private final String applicationId;
        private final Thread thread;
        private volatile boolean closed;
        private boolean warned;

        AdminRawTrimmer(Map<String, Object> streamsSettings, String applicationId, Duration period) {
            Map<String, Object> config = new HashMap<>(streamsSettings);
            config.keySet().retainAll(AdminClientConfig.configNames());
            config.put(AdminClientConfig.CLIENT_ID_CONFIG, config.getOrDefault(AdminClientConfig.CLIENT_ID_CONFIG, "lcckpt-encoder") + "-raw-trimmer");
            this.admin = Admin.create(config);
            this.applicationId = applicationId;
            this.thread = new Thread(() -> {
                while (!closed) {
                    try {
                        Thread.sleep(period.toMillis());
                        trim();
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException | ExecutionException e) {
                        if (!warned) {
                            LOG.warn("cannot trim the raw-delta topics yet (retried every {} s; the encoder needs DELETE on them): {}", period.toSeconds(),
                                    e instanceof ExecutionException ? e.getCause().toString() : e.toString());
                            warned = true;
                        }
                    }
                }
            }, "lcckpt-raw-trimmer");
            thread.setDaemon(true);
            thread.start();
        }

        /** Records below {@code deleteBelow} may go once the group's committed offset reaches {@code committedFrom}. */
        private record Offer(long deleteBelow, long committedFrom) {
        }

        @Override
        public void offer(TopicPartition partition, long deleteBelow, long committedFrom) {
            java.util.Deque<Offer> offers = pending.computeIfAbsent(partition, p -> new java.util.ArrayDeque<>());
            synchronized (offers) {
                offers.addLast(new Offer(deleteBelow, committedFrom));
                while (offers.size() > OFFERS_KEPT) {
                    // the oldest goes: a later offer deletes at least as much once the commit reaches it
                    offers.removeFirst();
                }
            }
        }

        private void trim() throws InterruptedException, ExecutionException {
            if (pending.isEmpty()) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(applicationId).partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, RecordsToDelete> deletions = new HashMap<>();
            for (var entry : pending.entrySet()) {
                OffsetAndMetadata offset = committed.get(entry.getKey());
                if (offset == null) {
                    continue;
                }
                // the newest offer the commit covers (offers made since wait for the next commit, not the other way round)
                long below = -1;
                java.util.Deque<Offer> offers = entry.getValue();
                synchronized (offers) {
                    while (!offers.isEmpty() && offers.peekFirst().committedFrom() <= offset.offset()) {
                        below = Math.max(below, offers.removeFirst().deleteBelow());
                    }
                }
                if (below > deleted.getOrDefault(entry.getKey(), 0L)) {
                    deletions.put(entry.getKey(), RecordsToDelete.beforeOffset(below));
                }
            }
            if (!deletions.isEmpty()) {
                admin.deleteRecords(deletions).all().get();
                deletions.forEach((partition, records) -> deleted.put(partition, records.beforeOffset()));
                LOG.debug("raw-delta records deleted: {}", deleted);
                warned = false;
            }
        }

        @Override
        public void close() {
            closed = true;
            thread.interrupt();
            admin.close(Duration.ofSeconds(5));
        }
    }
}
