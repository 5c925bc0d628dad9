package io.lccheckpoint.producer.internals;

import io.lccheckpoint.schema.kafka.Topics;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates a job's topics with their configs ({@code lcckpt.create.topics}): the raw-delta and checkpoint topics with the
 * job's partitions (the checkpoint topic compacted, with any {@code lcckpt.checkpoint.topic.*} config), one partition
 * each for the dead letters, the handover and the index. A topic that exists is left as it is.
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
        try {
            for (var entry : admin.createTopics(wanted).values().entrySet()) {
                try {
                    entry.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new KafkaException("cannot create topic " + entry.getKey() + " for job " + job, e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while creating the topics of job " + job, e);
        }
    }
}
