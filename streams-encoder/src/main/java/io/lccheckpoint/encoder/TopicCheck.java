package io.lccheckpoint.encoder;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.streams.errors.StreamsException;

/**
 * Whether a topic exists, asked before the encoder writes to a job's topics. A record for a job whose checkpoint topic
 * does not exist would block the stream thread for {@code max.block.ms} (brokers in production do not create topics on
 * first write) and then stop every job: it is dead-lettered instead, and a job without a dead-letter topic gets its
 * dead letters on the encoder's own one.
 *
 * <p>Topics found are remembered for good (topics are not deleted under a running job); topics not found are asked about
 * again after {@link #RECHECK_MS}, so a job whose topics are created late starts being coded within that time.
 */
interface TopicCheck extends AutoCloseable {
    long RECHECK_MS = 10_000;

    /** True if the topic exists. Never throws a timeout (under exactly-once a timeout in a processor corrupts its task). */
    boolean exists(String topic);

    /**
     * Null if the job's checkpoint and index topics exist, else why its records cannot be coded: writing to a missing
     * topic would hold the stream thread, and every job with it, for max.block.ms (issue #11).
     */
    default String missingJobTopics(io.lccheckpoint.schema.kafka.Topics topics, String job) {
        for (String topic : new String[] {topics.checkpoints(job), topics.index(job)}) {
            if (!exists(topic)) {
                return "job " + job + " has no topic " + topic + ": a job's topics are created before its first record"
                        + " (the producer does it with lcckpt.create.topics=true; see the README's topics)";
            }
        }
        return null;
    }

    @Override
    default void close() {
    }

    /** For topology unit tests: every topic exists. */
    TopicCheck ALL_EXIST = topic -> true;

    /** Asks the cluster through an admin client made from the encoder's Kafka settings (security settings included). */
    static TopicCheck admin(Map<String, Object> streamsSettings) {
        return new AdminTopicCheck(streamsSettings);
    }

    final class AdminTopicCheck implements TopicCheck {
        private final Map<String, Object> config;
        private final Set<String> found = ConcurrentHashMap.newKeySet();
        private final Map<String, Long> missingSince = new ConcurrentHashMap<>();
        private Admin admin;

        AdminTopicCheck(Map<String, Object> streamsSettings) {
            this.config = new HashMap<>(streamsSettings);
            config.keySet().retainAll(AdminClientConfig.configNames());
        }

        @Override
        public boolean exists(String topic) {
            if (found.contains(topic)) {
                return true;
            }
            Long since = missingSince.get(topic);
            long now = System.currentTimeMillis();
            if (since != null && now - since < RECHECK_MS) {
                return false;
            }
            boolean exists = describe(topic);
            if (exists) {
                found.add(topic);
                missingSince.remove(topic);
            } else {
                missingSince.put(topic, now);
            }
            return exists;
        }

        private boolean describe(String topic) {
            try {
                admin().describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS);
                return true;
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    return false;
                }
                // not a timeout: a StreamsException ends the stream thread (and the encoder, loudly) with everything
                // uncommitted aborted, which a restart redoes
                throw new StreamsException("cannot tell whether topic " + topic + " exists: " + e.getCause(), e.getCause());
            } catch (java.util.concurrent.TimeoutException e) {
                throw new StreamsException("cannot tell whether topic " + topic + " exists: no answer from the cluster within 30 s");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StreamsException("interrupted while checking whether topic " + topic + " exists", e);
            }
        }

        private synchronized Admin admin() {
            if (admin == null) {
                admin = Admin.create(config);
            }
            return admin;
        }

        @Override
        public synchronized void close() {
            if (admin != null) {
                admin.close(java.time.Duration.ofSeconds(5));
                admin = null;
            }
        }
    }
}
