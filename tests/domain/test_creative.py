from actorvid.domain.creative import Card, CreativeOptions, Transition, frame_size


def test_defaults_are_what_a_job_rendered_before_the_options_existed():
    options = CreativeOptions.from_document(None)
    assert options.frame_size() == (1280, 720)
    assert options.transition.overlap == 0
    assert options.video_seconds([8, 8, 6]) == 22


def test_frame_sizes_for_every_ratio_and_resolution():
    assert [frame_size("720p", r) for r in ("16:9", "9:16", "1:1")] == [
        (1280, 720), (720, 1280), (720, 720)]
    assert [frame_size("1080p", r) for r in ("16:9", "9:16", "1:1")] == [
        (1920, 1080), (1080, 1920), (1080, 1080)]


def test_duration_is_the_sum_of_segments_minus_one_overlap_per_join():
    options = CreativeOptions(transition=Transition("crossfade", 0.5),
                              title_card=Card("12 Ocean Drive", seconds=3),
                              end_card=Card("Call Ana", seconds=2))
    assert options.video_seconds([8, 8]) == 3 + 8 + 8 + 2 - 3 * 0.5


def test_the_document_round_trips():
    options = CreativeOptions(aspect_ratio="1:1", resolution="1080p", fit="pad",
                              transition=Transition("fadeblack", 0.25),
                              end_card=Card("Call Ana", "555-0100", 4, "brand"),
                              music_volume=0.0)
    assert CreativeOptions.from_document(options.to_document()) == options
