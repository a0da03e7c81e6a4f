-- Who a person is at the meeting (领导, 嘉宾, 发言代表, 受表彰代表, 工作人员, 媒体记者, 参会代表,
-- 群众): a capacity cut moves the public first, then delegates, the press and guests, and never
-- the others. Everybody already listed is a delegate, as the lists before it treated them.
ALTER TABLE attendees ADD COLUMN category TEXT NOT NULL DEFAULT 'delegate'
    CHECK (category IN ('leader', 'guest', 'speaker', 'awardee', 'staff', 'press', 'delegate', 'public'));
