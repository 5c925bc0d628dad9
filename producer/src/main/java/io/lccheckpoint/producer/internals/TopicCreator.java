package io.lccheckpoint.producer.internals;

import io.lccheckpoint.schema.kafka.Topics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.LoggerFactory;

/**
 * Creates a job's topics with their configs ({@code lcckpt.create.topics}): the raw-delta and checkpoint topics with the
 * job's partitions (the checkpoint topic compacted, with any {@code lcckpt.checkpoint.topic.*} config), one partition
 * each for the dead letters, the handover and the index. A topic that exists is left as it is, except that a compacted
 * one (checkpoints, handover, index) that exists without {@code cleanup.policy=compact} is refused: a broker that created
 * it on first use (auto.create.topics.enable) gives {@code delete}, which would silently lose the job's checkpoints.
 *
 * <p>A new job with more partitions than every other job on its prefix is refused too: the encoder reads every
 * {@code <prefix>.*.raw-deltas} topic in one Kafka Streams topology, whose changelogs have as many partitions as the raw
 * topics had when they were made, and Streams stops the encoder (every job) when a raw topic with more partitions
 * appears. Fewer partitions are fine. (Only jobs count: raw topics with a checkpoint topic beside them.)
 */
public final class TopicCreator {
    private TopicCreator() {
    }

    public static void create(Admin admin, Topics topics, String job, int partitions, short replication, int recordBytes,
                              Map<String, ?> checkpointTopicOverrides) {
        Optional<Short> factor = replication < 0 ? Optional.empty() : Optional.of(replication);
        Map<String, String> checkpointConfig = new HashMap<>(Topics.checkpointTopicConfig(recordBytes));
        checkpointTopicOverrides.forEach((key, value) -> checkpointConfig.put(key, String.valueOf(value)));
        List<NewTopic> wanted = List.of(
                new NewTopic(topics.rawDeltas(job), Optional.of(partitions), factor).configs(Topics.rawTopicConfig(recordBytes)),
                new NewTopic(topics.checkpoints(job), Optional.of(partitions), factor).configs(checkpointConfig),
                new NewTopic(topics.deadLetters(job), Optional.of(1), factor).configs(Topics.rawTopicConfig(recordBytes)),
                new NewTopic(topics.handover(job), Optional.of(1), factor).configs(Topics.checkpointTopicConfig(3 * recordBytes)),
                new NewTopic(topics.index(job), Optional.of(1), factor).configs(Topics.checkpointTopicConfig(1 << 20)));
        List<String> compacted = List.of(topics.checkpoints(job), topics.handover(job), topics.index(job));
        List<ConfigResource> existing = new ArrayList<>();
        try {
            checkPartitions(admin, topics, job, partitions);
            for (var entry : admin.createTopics(wanted).values().entrySet()) {
                try {
                    entry.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new KafkaException("cannot create topic " + entry.getKey() + " for job " + job, e.getCause());
                    }
                    if (compacted.contains(entry.getKey())) {
                        existing.add(new ConfigResource(ConfigResource.Type.TOPIC, entry.getKey()));
                    }
                }
            }
            if (!existing.isEmpty()) {
                checkCompacted(admin, existing, job);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while creating the topics of job " + job, e);
        }
    }

    /** Refuses a new job whose raw topic would have more partitions than any other job's on its prefix. */
    private static void checkPartitions(Admin admin, Topics topics, String job, int partitions) throws InterruptedException {
        Map<String, Integer> others = new java.util.TreeMap<>();
        try {
            java.util.Set<String> names = admin.listTopics().names().get();
            if (names.contains(topics.rawDeltas(job))) {
                return; // the job's own topics exist: they are what they are
            }
            // other jobs' raw topics (a stray raw topic without job topics is dead-lettered by the encoder, not a job)
            java.util.regex.Pattern rawDeltas = topics.rawDeltaPattern();
            List<String> raw = names.stream().filter(name -> rawDeltas.matcher(name).matches())
                    .filter(name -> names.contains(topics.checkpoints(topics.jobOf(name)))).sorted().toList();
            if (raw.isEmpty()) {
                return;
            }
            admin.describeTopics(raw).allTopicNames().get().forEach((name, description) -> others.put(name, description.partitions().size()));
        } catch (ExecutionException e) {
            // without Describe on the other jobs' topics the check cannot run: say so, and go on
            LoggerFactory.getLogger(TopicCreator.class).warn("job {}: cannot compare its partition count with the other jobs': {}", job,
                    e.getCause().getMessage());
            return;
        }
        var widest = others.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
        if (partitions > widest.getValue()) {
            throw new KafkaException("job " + job + ": lcckpt.topic.partitions is " + partitions + ", more than the other jobs on topic"
                    + " prefix " + topics.prefix() + " have (" + widest.getKey() + ": " + widest.getValue() + "): the encoder's changelogs"
                    + " are partitioned like the raw topics it found first, and Kafka Streams would stop it, for every job, at a raw"
                    + " topic with more partitions. Set lcckpt.topic.partitions to at most " + widest.getValue() + ", or use another"
                    + " lcckpt.topic.prefix with an encoder of its own (or delete a stray raw topic)");
        }
    }

    private static void checkCompacted(Admin admin, List<ConfigResource> topics, String job) throws InterruptedException {
        Map<ConfigResource, Config> configs;
        try {
            configs = admin.describeConfigs(topics).all().get();
        } catch (ExecutionException e) {
            // without DescribeConfigs on the topic the check cannot run: say so, and go on (the ACLs are the operator's)
            LoggerFactory.getLogger(TopicCreator.class).warn("job {}: cannot check that {} are compacted: {}", job,
                    topics.stream().map(ConfigResource::name).toList(), e.getCause().getMessage());
            return;
        }
        for (var entry : configs.entrySet()) {
            ConfigEntry policy = entry.getValue().get("cleanup.policy");
            if (policy != null && !policy.value().contains("compact")) {
                throw new KafkaException("job " + job + ": topic " + entry.getKey().name() + " exists with cleanup.policy=" + policy.value()
                        + ", but it must be compacted or the job's checkpoints are deleted with time (a broker that auto-creates topics"
                        + " makes them so): set cleanup.policy=compact on it (kafka-configs --alter --add-config cleanup.policy=compact)"
                        + " or delete it and let the producer create it");
            }
        }
    }
}
